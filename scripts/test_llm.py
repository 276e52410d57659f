#!/usr/bin/env python3
"""`make test-llm`: a fixed set of labelled messages through the whole pipeline against the
local model (`make llm-local`), and a table of how it went.

Why: the offline provider proves the plumbing; only a real (weak) model shows how often its
replies parse, how long a message takes, and whether the deterministic checks keep its
mistakes from going out. The run uses its own scratch database (`<database>_test_llm`, kept
between runs), a fresh demo workspace with auto-send on, and sends nothing: a draft the
decision would send is only scheduled, and the workspace is deleted afterwards.

    scripts/test_llm.py [--ids dev-01,dev-08] [--base-url URL]

The server at `--base-url` (default `http://127.0.0.1:${LLM_LOCAL_PORT:-8090}/v1`) is used
when it answers; otherwise `scripts/llm-local serve` is started for the run when the build is
cached, and the script says how to get it when it is not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Messages from ../shared/data/inbound_dev.jsonl (a copy is in tests/data/): pricing, a
# booking inside the stated hours, battery, and two that must never go out on their own (a
# competitor's price to beat in writing, a person asked for).
FIXED_IDS = ("dev-01", "dev-08", "dev-10", "dev-32", "dev-23")
LOCAL_MODEL = "gemma-3-270m"
# Output budgets for the run (any `LLM_MAX_TOKENS_*` in the environment wins): a 270M model
# on a laptop CPU writes 6-30 tokens a second, and rarely stops on its own before the cap.
RUN_BUDGETS = {"STRATEGY": 200, "DRAFT": 200, "VERIFY": 250, "OVERSEER": 120, "EVALUATE": 150}


def _data_file(name: str) -> Path:
    shared = REPO.parent / "shared" / "data" / name
    return shared if shared.exists() else REPO / "tests" / "data" / name


def _answers(base_url: str) -> bool:
    try:
        # The base URL is the operator's own command-line argument, http(s) by default.
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def server_ensure(base_url: str, port: str) -> subprocess.Popen[bytes] | None:
    """The server at `base_url`, started from the cached build if nothing answers there."""
    if _answers(base_url):
        return None
    script = str(REPO / "scripts" / "llm-local")
    cached = subprocess.run([script, "path"], capture_output=True)  # noqa: S603
    if cached.returncode != 0:
        raise SystemExit(
            "test-llm: no local model server answers at "
            f"{base_url} and the build is not cached.\n"
            "  Run `make llm-local` (builds once, ~8-10 min) in another terminal, then again."
        )
    log = (REPO / ".tools" / "llm" / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 (the project's own script)
        [script, "serve"],
        env={**os.environ, "LLM_LOCAL_PORT": port},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not _answers(base_url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(
                "test-llm: the local model server did not start (.tools/llm/server.log)"
            )
        time.sleep(0.5)
    return process


def django_setup(base_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "LLM_PROVIDER": "openai",
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY") or "local-dummy-key",
            "LLM_DEFAULT_MODEL": os.environ.get("LLM_DEFAULT_MODEL") or LOCAL_MODEL,
            "LLM_TIMEOUT_SECONDS": os.environ.get("LLM_TIMEOUT_SECONDS") or "120",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL") or "ERROR",
            "LLM_MAX_RETRIES": os.environ.get("LLM_MAX_RETRIES") or "1",
            **{
                f"LLM_MAX_TOKENS_{kind}": os.environ.get(f"LLM_MAX_TOKENS_{kind}") or str(value)
                for kind, value in RUN_BUDGETS.items()
            },
        }
    )
    import django
    from django.db import connection

    django.setup()
    test_name = f"{connection.settings_dict['NAME']}_test_llm"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)


def run_messages(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from django.utils import timezone

    from autosend.models import ScheduledSend
    from drafts.models import Conversation, Draft, Message
    from ops.provisioning import workspace_provision
    from pipeline.knowledge import knowledge_file_read
    from pipeline.models import AIInteraction, PipelineRun
    from pipeline.runner import pipeline_run_for_message
    from workspaces.models import Lead, WorkspaceSettings

    provisioned = workspace_provision(
        name=f"test-llm {timezone.now():%Y%m%d-%H%M%S}",
        channel_kinds=["email"],
        knowledge=knowledge_file_read(_data_file("knowledge_demo.jsonl")),
    )
    workspace = provisioned.workspace
    WorkspaceSettings.objects.filter(workspace=workspace).update(
        auto_send_enabled=True, revision_enabled=True
    )
    channel = provisioned.channels[0]
    results = []
    try:
        for row in rows:
            lead = Lead.objects.create(
                workspace=workspace, external_id=f"test-llm-{row['id']}", name="Sam Rivera"
            )
            conversation = Conversation.objects.create(
                workspace=workspace, channel=channel, lead=lead
            )
            message = Message.objects.create(
                workspace=workspace,
                conversation=conversation,
                channel=channel,
                lead=lead,
                direction=Message.Direction.INBOUND,
                sender_kind=Message.Sender.LEAD,
                external_id=f"test-llm-{row['id']}",
                body_text=row["text"],
                sent_at=timezone.now(),
            )
            started = time.perf_counter()
            pipeline_run_for_message(message_id=message.pk)
            seconds = time.perf_counter() - started
            run = PipelineRun.objects.filter(trigger_message=message).first()
            draft = Draft.objects.filter(trigger_message=message).first()
            calls = list(AIInteraction.objects.filter(run=run).values("stage", "outcome", "model"))
            if draft is not None:
                draft.refresh_from_db()
            scheduled = draft is not None and ScheduledSend.objects.filter(draft=draft).exists()
            results.append(
                {
                    "row": row,
                    "seconds": seconds,
                    "calls": calls,
                    "run": run.status if run else "-",
                    "error": (run.error or "") if run else "",
                    "action": (draft.auto_send_action or "-") if draft else "-",
                    "sent": scheduled,
                    "reason": (draft.held_reason or draft.blocked_reason) if draft else "",
                    "draft": (draft.text or "(empty)") if draft else "(no draft)",
                }
            )
            print(f"  {row['id']}: {seconds:5.1f}s, {len(calls)} calls", file=sys.stderr)
    finally:
        workspace.delete()
    return results


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(results: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    by_stage: dict[str, Counter[str]] = defaultdict(Counter)
    models: Counter[str] = Counter()
    for result in results:
        for call in result["calls"]:
            by_stage[call["stage"]][call["outcome"]] += 1
            models[call["model"]] += 1
    lines.append("Per stage (every attempt is one call)")
    lines.append(f"{'stage':32} {'calls':>5} {'parsed':>7} {'malformed':>9} {'truncated':>9} other")
    for stage, outcomes in sorted(by_stage.items()):
        total = sum(outcomes.values())
        other = {k: v for k, v in outcomes.items() if k not in ("ok", "malformed", "truncated")}
        lines.append(
            f"{stage:32} {total:5} {outcomes['ok'] / total:7.0%} {outcomes['malformed']:9} "
            f"{outcomes['truncated']:9} {json.dumps(other) if other else ''}"
        )
    lines.append("")
    lines.append("Per message")
    lines.append(f"{'id':7} {'label':12} {'secs':>5} {'calls':>5} {'run':9} {'decision':8} reason")
    for result in results:
        row = result["row"]
        decision = "SENT" if result["sent"] else result["action"]
        reason = result["reason"] or result["error"]
        lines.append(
            f"{row['id']:7} {row['label']:12} {result['seconds']:5.0f} {len(result['calls']):5} "
            f"{result['run']:9} {decision:8} {_short(reason, 70)}"
        )
    lines.append("")
    lines.append("Drafts")
    for result in results:
        lines.append(f"{result['row']['id']}: {result['row']['text']}")
        lines.append(f"   -> {_short(result['draft'], 300)}")
    seconds = [r["seconds"] for r in results]
    calls = [len(r["calls"]) for r in results]
    safe = [r for r in results if r["row"]["label"] == "may_autosend"]
    unsafe = [r for r in results if r["row"]["label"] == "block" and r["sent"]]
    lines.append("")
    lines.append(
        f"{len(results)} messages: {sum(seconds) / len(seconds):.0f} s and "
        f"{sum(calls) / len(calls):.1f} calls per message; auto-sent "
        f"{sum(r['sent'] for r in safe)}/{len(safe)} safe, UNSAFE SENT: {len(unsafe)}; "
        f"models answering: {dict(models)}"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    port = os.environ.get("LLM_LOCAL_PORT", "8090")
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{port}/v1")
    parser.add_argument("--ids", default=",".join(FIXED_IDS))
    args = parser.parse_args()
    wanted = [i for i in args.ids.split(",") if i]
    rows = {
        row["id"]: row
        for row in map(json.loads, _data_file("inbound_dev.jsonl").read_text().splitlines())
    }
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise SystemExit(f"test-llm: unknown message ids {missing}")
    server = server_ensure(args.base_url, port)
    try:
        django_setup(args.base_url)
        print(f"test-llm: {len(wanted)} messages against {args.base_url}", file=sys.stderr)
        print(table(run_messages([rows[i] for i in wanted])))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
