"""What the fake KIE server answers for a dedicated family's task: the status ``data`` and the callback body
(kie-openapi-2026-08.yaml examples; KIE_API.md §6). Pure functions of a TaskRecord."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable

from adapters.kie.fake_server.models import TaskRecord, ms
from ports.generation import TaskState

# Suno's staged callbacks: callbackType → msg.
SUNO_STAGE_MESSAGES = {
    "text": "Text generation completed successfully.",
    "first": "First track generated successfully.",
    "complete": "All generated successfully.",
}


def _when(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _flag(record: TaskRecord) -> int:
    return {TaskState.SUCCESS: 1, TaskState.FAIL: 3}.get(record.state, 0)


def _failure(record: TaskRecord) -> tuple[Any, str]:
    if record.state is TaskState.FAIL and record.status is not None:
        return record.status.fail_code or "500", record.status.fail_message or "Generation failed"
    return None, ""


def _params(record: TaskRecord) -> str:
    return json.dumps({k: v for k, v in record.body.items() if k != "callBackUrl"}, ensure_ascii=False)


def _flag_common(record: TaskRecord) -> dict[str, Any]:
    code, message = _failure(record)
    return {
        "taskId": record.task_id, "paramJson": _params(record), "successFlag": _flag(record),
        "errorCode": code, "errorMessage": message, "createTime": _when(record.created),
        "completeTime": _when(record.completed),
    }


def veo(record: TaskRecord) -> dict[str, Any]:
    done = record.state is TaskState.SUCCESS
    response = {"taskId": record.task_id, "resultUrls": list(record.result_urls), "originUrls": [],
                "resolution": record.body.get("resolution", "720p")} if done else None
    return {**_flag_common(record), "response": response, "fallbackFlag": False}


def aleph(record: TaskRecord) -> dict[str, Any]:
    done = record.state is TaskState.SUCCESS
    url = record.result_urls[0] if done else None
    response = {"taskId": record.task_id, "resultVideoUrl": url, "resultImageUrl": None} if done else None
    return {**_flag_common(record), "response": response}


def kontext(record: TaskRecord) -> dict[str, Any]:
    done = record.state is TaskState.SUCCESS
    url = record.result_urls[0] if done else None
    return {**_flag_common(record), "response": {"originImageUrl": url, "resultImageUrl": url} if done else None}


def mj(record: TaskRecord) -> dict[str, Any]:
    done = record.state is TaskState.SUCCESS
    info = {"resultUrls": [{"resultUrl": url} for url in record.result_urls]} if done else None
    return {**_flag_common(record), "taskType": record.body.get("taskType"), "resultInfoJson": info}


def gpt4o(record: TaskRecord) -> dict[str, Any]:
    status = {TaskState.SUCCESS: "SUCCESS", TaskState.FAIL: "GENERATE_FAILED"}.get(record.state, "GENERATING")
    done = record.state is TaskState.SUCCESS
    return {
        **_flag_common(record), "status": status, "progress": f"{record.progress / 100:.2f}",
        "response": {"resultUrls": list(record.result_urls)} if done else None,
        "createTime": ms(record.created), "completeTime": ms(record.completed) if record.completed else None,
    }


def runway(record: TaskRecord) -> dict[str, Any]:
    code, message = _failure(record)
    state = {TaskState.WAITING: "wait", TaskState.QUEUING: "queueing"}.get(record.state, record.state.value)
    done = record.state is TaskState.SUCCESS
    video = {"videoId": f"video-{record.task_id}", "taskId": record.task_id,
             "videoUrl": record.result_urls[0], "imageUrl": None} if done else None
    return {
        "taskId": record.task_id, "parentTaskId": "",
        "generateParam": {"prompt": record.body.get("prompt"), "imageUrl": record.body.get("imageUrl")},
        "state": state, "generateTime": _when(record.completed), "videoInfo": video,
        "failCode": int(code) if str(code or "").isdigit() else (400 if code else None), "failMsg": message,
        "expireFlag": 0,
    }


def suno_status(record: TaskRecord) -> str:
    if record.state is TaskState.SUCCESS:
        return "SUCCESS"
    if record.state is TaskState.FAIL:
        message = (record.status.fail_message or "") if record.status else ""
        return "SENSITIVE_WORD_ERROR" if "sensitive" in message.lower() else "GENERATE_AUDIO_FAILED"
    return {"lyrics": "TEXT_SUCCESS", "first_track": "FIRST_SUCCESS"}.get(record.stage or "", "PENDING")


def _suno_tracks(record: TaskRecord, *, snake: bool) -> list[dict[str, Any]]:
    tracks = []
    for index, url in enumerate(record.result_urls):
        title = record.titles[index] if index < len(record.titles) else ""
        track = {"id": f"{record.task_id}-{index}", "audioUrl": url, "streamAudioUrl": url, "imageUrl": None,
                 "title": title, "tags": record.body.get("style") or "", "duration": 2.0}
        tracks.append({_snake(key): value for key, value in track.items()} if snake else track)
    return tracks


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


def suno(record: TaskRecord) -> dict[str, Any]:
    code, message = _failure(record)
    done = record.state is TaskState.SUCCESS
    return {
        "taskId": record.task_id, "parentMusicId": "", "param": _params(record),
        "response": {"taskId": record.task_id, "sunoData": _suno_tracks(record, snake=False)} if done else None,
        "status": suno_status(record), "type": "GENERATE", "errorCode": code, "errorMessage": message or None,
    }


def suno_wav(record: TaskRecord) -> dict[str, Any]:
    """GET /api/v1/wav/record-info (kie-openapi example)."""
    code, message = _failure(record)
    flag = {TaskState.SUCCESS: "SUCCESS", TaskState.FAIL: "GENERATE_WAV_FAILED"}.get(record.state, "PENDING")
    audio = str(record.body.get("audioId") or "")
    return {
        "taskId": record.task_id, "musicId": audio, "musicIndex": int(audio.rsplit("-", 1)[-1] or 0)
        if audio.rsplit("-", 1)[-1].isdigit() else 0, "createTime": _when(record.created),
        "completeTime": _when(record.completed), "successFlag": flag, "errorCode": code, "errorMessage": message or None,
        "response": {"audioWavUrl": record.result_urls[0]} if record.state is TaskState.SUCCESS else None,
    }


STATUS_DATA: dict[str, Callable[[TaskRecord], dict[str, Any]]] = {
    "veo": veo, "aleph": aleph, "kontext": kontext, "mj": mj, "gpt4o": gpt4o, "runway": runway, "suno": suno,
    "suno_wav": suno_wav,
}


def callback_body(record: TaskRecord, stage: str | None = None) -> dict[str, Any]:
    """The family's callback POST for a finished task, or (Suno) for the stage "text" / "first"."""
    ok = record.state is not TaskState.FAIL
    code = 200 if ok else 501
    _, failure = _failure(record)
    if record.api in ("suno", "suno_extend"):
        kind = stage or ("complete" if ok else "error")
        data = _suno_tracks(record, snake=True) if kind == "complete" else []
        message = SUNO_STAGE_MESSAGES.get(kind, failure)
        return {"code": code, "msg": message, "data": {"callbackType": kind, "task_id": record.task_id, "data": data}}
    urls = list(record.result_urls)
    info: dict[str, Any] = {
        "veo": {"resultUrls": urls, "originUrls": [], "resolution": record.body.get("resolution", "720p")},
        "kontext": {"originImageUrl": urls[0] if urls else None, "resultImageUrl": urls[0] if urls else None},
        "gpt4o": {"result_urls": urls},
    }.get(record.api, {"resultUrls": urls})
    data: dict[str, Any] = {"taskId": record.task_id, "info": info if ok else None}
    if record.api == "runway":
        data = {"task_id": record.task_id, "video_url": urls[0] if urls else None, "image_url": None}
    return {"code": code, "msg": "success" if ok else failure, "data": data}
