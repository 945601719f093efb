"""Who may use the app: an optional login, and a warning when the app is open to a network without one.

Two ways to require a login, both configured in ``.streamlit/secrets.toml`` (never in the repository):

* ``[auth]`` (Streamlit's ``st.login``): an OIDC provider (``redirect_uri``, ``cookie_secret``, ``client_id``,
  ``client_secret``, ``server_metadata_url``) for sites that have one;
* ``[hamacho] password_hash = "scrypt$..."``: one shared password for sites without one
  (``python -m hamacho_core.passwords`` prints the line). Checked with scrypt and ``hmac.compare_digest``.

With neither, an app that listens beyond localhost shows a warning on every page.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from hamacho_core.passwords import verify_password
from ui.i18n import t

__all__ = ["listens_beyond_localhost", "login_mode", "require_login"]

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _secrets_section(name: str) -> dict[str, Any]:
    try:
        section = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no or unreadable secrets file: no login configured
        return {}
    return dict(section) if section else {}


def login_mode() -> str:
    """``"oidc"``, ``"password"`` or ``""`` (no login configured)."""
    if _secrets_section("auth").get("client_id") or any(
            isinstance(value, dict) and value.get("client_id") for value in _secrets_section("auth").values()):
        return "oidc"
    if _secrets_section("hamacho").get("password_hash"):
        return "password"
    return ""


def listens_beyond_localhost() -> bool:
    """True when other machines may reach this server: bound to every interface or a non-loopback address.

    In Docker the container listens on 0.0.0.0; compose passes the host address it publishes on in
    ``HAMACHO_PUBLISHED_ON`` (127.0.0.1 by default), which is what counts there.
    """
    published = os.environ.get("HAMACHO_PUBLISHED_ON", "").strip()
    if published:
        return published not in LOOPBACK
    address = (st.get_option("server.address") or "").strip()
    return address not in LOOPBACK


def _password_form(stored: str) -> None:
    with st.form("login"):
        st.subheader(t("login_title"))
        password = st.text_input(t("login_password"), type="password")
        if st.form_submit_button(t("login_button")):
            if verify_password(password, stored):
                st.session_state["_signed_in"] = True
                st.rerun()
            st.error(t("login_wrong"))


def require_login() -> None:
    """Stop the page with a sign-in form unless the session is signed in (or no login is configured)."""
    mode = login_mode()
    if mode == "oidc":
        if not st.user.is_logged_in:
            st.title("Hamacho")
            st.button(t("login_oidc"), on_click=st.login, type="primary")
            st.stop()
        with st.sidebar:
            st.caption(t("signed_in_as", name=st.user.get("name") or st.user.get("email") or ""))
            st.button(t("logout"), on_click=st.logout, key="logout")
    elif mode == "password":
        if not st.session_state.get("_signed_in"):
            _password_form(_secrets_section("hamacho")["password_hash"])
            st.stop()
        with st.sidebar:
            if st.button(t("logout"), key="logout"):
                st.session_state["_signed_in"] = False
                st.rerun()
    elif listens_beyond_localhost():
        st.warning(t("open_to_network"), icon="⚠️")
