"""An organisation's PAN: a listed holder type, and the PAN inside its regular GSTIN, over raw HTTP."""

from __future__ import annotations

import pytest

from books_async.sandbox._gst import make_gstin

from .conftest import Api

SEEDED_GSTIN = "27AAPFU0939F1ZV"  # the default organisation's, PAN AAPFU0939F


async def _patch(api: Api, body: dict[str, object]) -> tuple[int, list[list[object]]]:
    reply = await api.patch(f"/orgs/{api.sb.org_id}", body)
    return reply.status, (reply.paths() if reply.status == 400 else [])


@pytest.mark.parametrize("holder", list("ABCFGHJKLPT"))
async def test_every_holder_type_is_accepted(api: Api, holder: str) -> None:
    """Each listed 4th character, with a GSTIN that carries that PAN: 200."""
    pan = f"AAA{holder}A1234B"
    status, paths = await _patch(api, {"pan": pan, "gstin": make_gstin("27", pan)})
    assert (status, paths) == (200, [])
    assert (await api.get(f"/orgs/{api.sb.org_id}")).json["pan"] == pan


@pytest.mark.parametrize("pan", ["ABMXA3211G", "AAADA1234B", "AAAZA1234B"])
async def test_an_unlisted_holder_type_is_refused(api: Api, pan: str) -> None:
    """X, D and Z are no holder types: 400 on pan (the schema's pattern says so)."""
    status, paths = await _patch(api, {"pan": pan})
    assert status == 400
    assert ["pan"] in paths


async def test_a_pan_other_than_the_gstins_is_refused(api: Api) -> None:
    """A valid PAN that is not characters 3-12 of the organisation's GSTIN: 400 on pan."""
    status, paths = await _patch(api, {"pan": "AABCT5678M"})
    assert (status, paths) == (400, [["pan"]])


async def test_the_gstins_own_pan_is_accepted(api: Api) -> None:
    """Characters 3-12 of the GSTIN: 200."""
    assert await _patch(api, {"pan": SEEDED_GSTIN[2:12]}) == (200, [])


async def test_a_new_gstin_must_carry_the_kept_pan(api: Api) -> None:
    """Changing only the GSTIN to another PAN's: 400 on gstin; changing both together: 200."""
    other = make_gstin("27", "AABCT5678M")
    assert await _patch(api, {"gstin": other}) == (400, [["gstin"]])
    assert await _patch(api, {"gstin": other, "pan": "AABCT5678M"}) == (200, [])
