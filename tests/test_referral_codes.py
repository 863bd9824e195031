"""Invite codes decode only to ids a Telegram user can have: a code past 2^53 (up to 13 base-36 digits reach
2^67) is no inviter, so PostgreSQL is never asked for a user id outside BIGINT (the fuzz found it)."""

from __future__ import annotations

import pytest

from core.handlers.referral import MAX_USER_ID, code_for, user_for


@pytest.mark.parametrize("user_id", [1, 35, 36, 7123456789, MAX_USER_ID])
def test_a_code_decodes_to_its_user(user_id):
    assert user_for(code_for(user_id)) == user_id
    assert user_for(code_for(user_id).upper()) == user_id


@pytest.mark.parametrize("code", ["", "0", "zzzzzzzzzzzzz", code_for(2**63), code_for(MAX_USER_ID + 1),
                                  "zzzzzzzzzzzzzz", "ab-c", "²", "ａｂ"])
def test_a_code_that_is_no_user_id_is_nobody(code):
    assert user_for(code) is None
