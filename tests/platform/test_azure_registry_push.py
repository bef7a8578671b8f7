"""Images are pushed with a short-lived ACR token exchanged for the caller's Entra ID token, never as the admin user."""
import json
import threading
import urllib.error
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from infra.platform.azure import acr_token
from infra.render import MOCK_TENANT_ID, is_secret, run_program, stack_config, unwrapped


class _Exchange(BaseHTTPRequestHandler):
    """ACR's /oauth2/exchange as `az acr login` meets it: a form with the Entra ID token in, a refresh token out."""

    received: ClassVar[list[dict[str, str]]] = []
    answer: ClassVar[dict[str, str]] = {}

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        type(self).received.append({"path": self.path, "content_type": self.headers["Content-Type"], **form})
        body = json.dumps(self.answer).encode()
        self.send_response(200 if "refresh_token" in self.answer else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def exchange_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Exchange)
    _Exchange.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_exchange_posts_the_entra_token_for_the_registry_and_returns_the_refresh_token(exchange_server):
    _Exchange.answer = {"refresh_token": "acr-refresh-token"}
    token = acr_token.refresh_token(exchange_server, MOCK_TENANT_ID, "entra-access-token", scheme="http")
    assert token == "acr-refresh-token"
    assert _Exchange.received == [{
        "path": "/oauth2/exchange", "content_type": "application/x-www-form-urlencoded", "grant_type": "access_token",
        "service": exchange_server, "tenant": MOCK_TENANT_ID, "access_token": "entra-access-token"}]


def test_a_refused_exchange_fails_the_run_instead_of_pushing_without_credentials(exchange_server):
    _Exchange.answer = {"error": "unauthorized"}
    with pytest.raises(urllib.error.HTTPError):
        acr_token.refresh_token(exchange_server, MOCK_TENANT_ID, "entra-access-token", scheme="http")


def test_an_answer_without_a_refresh_token_is_an_error(exchange_server, monkeypatch):
    _Exchange.answer = {"refresh_token": ""}
    with pytest.raises(RuntimeError, match="without a refresh token"):
        acr_token.refresh_token(exchange_server, MOCK_TENANT_ID, "entra-access-token", scheme="http")


def test_a_preview_logs_in_to_no_registry(aks_dev):
    for build in aks_dev.of_type("docker-build:index:Image"):
        assert unwrapped(build.inputs.get("registries", [])) == []


def test_pulumi_up_pushes_as_the_null_user_with_the_exchanged_token_kept_secret(monkeypatch):
    calls = []

    def exchange(login_server: str, tenant_id: str, access_token: str) -> str:
        calls.append((login_server, tenant_id, access_token))
        return f"refresh-token-for-{login_server}"

    monkeypatch.setattr(acr_token, "refresh_token", exchange)
    rendered = run_program("aks-dev", stack_config("aks-dev"), preview=False)
    registry_name = unwrapped(rendered.of_type("azure-native:containerregistry:Registry")[0].inputs["registryName"])
    login_server = f"{registry_name}.azurecr.io"
    assert set(calls) == {(login_server, MOCK_TENANT_ID, "mock-entra-token")}  # the provider's getClientToken
    for build in rendered.of_type("docker-build:index:Image"):
        assert is_secret(build.inputs["registries"])
        assert unwrapped(build.inputs["registries"]) == [
            {"address": login_server, "username": "00000000-0000-0000-0000-000000000000",
             "password": f"refresh-token-for-{login_server}"}]
