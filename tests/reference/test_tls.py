"""wss:// with a throwaway CA (CONN-005): the same protocol over TLS, through the same fast send path."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import trustme

from tests.reference.helpers import Client, serving


async def test_wss_with_a_throwaway_ca(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with serving(certfile=str(certfile), keyfile=str(keyfile), no_limits=True) as server:
        assert server.url.startswith("wss://")
        async with Client.connect(server.ws("tls", "nickname=s"), ssl=client_context) as a:
            async with Client.connect(server.ws("tls"), ssl=client_context) as b:
                await a.joined()
                await b.joined()
                for i in range(50):
                    await a.say(f"secure {i} " + "가" * 500)
                for client in (a, b):
                    got = [await client.expect(lambda f: f["type"] == "user_msg") for _ in range(50)]
                    assert got[-1]["content"].startswith("secure 49")
                    client.check()
        async with httpx.AsyncClient(base_url=server.http, verify=client_context) as http:
            assert (await http.get("/healthz")).json()["status"] == "ok"
