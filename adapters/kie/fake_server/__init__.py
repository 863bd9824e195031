"""FakeKieServer: KIE AI's HTTP API on loopback, for client tests and local runs (docs: /work/shared/kie/KIE_API.md).

    async with FakeKieServer(clock=VirtualClock()) as kie:
        client = httpx.AsyncClient(headers={"Authorization": f"Bearer {kie.api_key}", "User-Agent": "trt-bot/1"})
        await client.post(f"{kie.api_base_url}/api/v1/jobs/createTask", json={"model": …, "input": {…}})

Two aiohttp sites like KIE's two hosts: ``api_base_url`` (``/api/v1/jobs/createTask``, ``/api/v1/jobs/recordInfo``,
``/api/v1/chat/credit``, ``/api/v1/common/download-url``, result files at ``/files/…``, download-url links at
``/tmp/…``) and ``upload_base_url`` (``/api/file-stream-upload``, ``/api/file-base64-upload``,
``/api/file-url-upload``, uploaded files at ``/files/…``).

The task lifecycle (waiting → queuing → generating → success | fail on the injected clock), the prompt words
REJECT / FAIL / HANG, ``fail_next_tasks`` / ``hang_next_tasks`` and the real result files are FakeKieGateway's
(:mod:`adapters.kie.fake`); this package adds KIE's HTTP behaviour on top:

- every JSON answer is an envelope ``{"code", "msg", "data"}`` with HTTP 200, errors included;
- no or a library-default User-Agent → bare HTTP 403 "error code: 1010" (Cloudflare); a missing or wrong
  ``Authorization: Bearer`` → envelope 401 "You do not have access permissions";
- createTask: 429 "Rate limited" past ``rate_limit`` calls per ``rate_window`` clock seconds, unknown model (when
  ``models`` is given) 422 "The page does not exist or is not published", a missing required field
  ``validation_code`` "This field is required", 402 "Credits insufficient", REJECT → 400 (content policy);
- recordInfo: ``param`` and ``resultJson`` as JSON strings, ms timestamps, states never go backwards; unknown id
  → 422 "recordInfo is null"; ``use_message_key=True`` answers with ``message`` instead of ``msg``;
- credits are debited (ModelRules.credits, else 1) when a task succeeds; chat/credit answers an int;
- callbacks (``{code: 200|501, msg, data}``) POSTed when a task ends, per ``set_callback_mode``; each attempt
  recorded in ``callbacks``; optional HMAC signature headers (``webhook_hmac_key``);
- scripted transport trouble: ``fail_next`` (envelope code or real HTTP status) and ``delay_next``.

Layout: :mod:`.server` (class, sites, auth/Cloudflare/scripting layer), :mod:`.tasks` (market + account
endpoints), :mod:`.files` (uploads and file URLs), :mod:`.callbacks` (ticker and delivery), :mod:`.models`.
Run standalone: ``python -m adapters.kie.fake_server --port 8089``.
"""

from adapters.kie.fake_server.models import CallbackAttempt, KieRequest, ModelRules
from adapters.kie.fake_server.server import FakeKieServer

__all__ = ["CallbackAttempt", "FakeKieServer", "KieRequest", "ModelRules"]
