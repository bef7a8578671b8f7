"""An ACR refresh token for the caller's Entra ID identity, so images are pushed without the registry's admin user.

This is the exchange `az acr login` makes: the caller's Entra ID access token goes to the registry's
/oauth2/exchange endpoint, which answers with a refresh token that `docker login` accepts under the null user name.
The token lives about three hours and is read at each run; nothing long-lived is created or stored.
"""
import json
import urllib.parse
import urllib.request

# The user name ACR expects with a refresh token as the password.
TOKEN_USER = "00000000-0000-0000-0000-000000000000"
TIMEOUT_SECONDS = 30


def refresh_token(login_server: str, tenant_id: str, access_token: str, scheme: str = "https") -> str:
    form = urllib.parse.urlencode({
        "grant_type": "access_token",
        "service": login_server,
        "tenant": tenant_id,
        "access_token": access_token,
    }).encode()
    request = urllib.request.Request(f"{scheme}://{login_server}/oauth2/exchange", data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        token = json.load(response).get("refresh_token")
    if not isinstance(token, str) or not token:
        raise RuntimeError(f"{login_server} answered the token exchange without a refresh token")
    return token
