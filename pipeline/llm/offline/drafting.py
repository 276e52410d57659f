"""Offline strategy, generation, verification and meeting stages: rules over the message and
the knowledge hits, so every sentence of fact in a draft is a sentence of a source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.availability import times_available
from pipeline.grounding import claim_norms, claims_enforce
from pipeline.language import (
    TimeMention,
    intents_detect,
    meeting_read,
    questions_in,
    shows_interest,
    time_is_specific,
)
from pipeline.llm.offline.sources import (
    Doc,
    answer_sentences,
    booking_doc,
    booking_sentences,
    booking_windows,
    doc_rank,
    doc_text,
    sources_used,
)
from pipeline.schemas import RISKY_INTENTS

# Replies to messages a person should handle: no facts, no selling, nothing to verify.
HOLDING_REPLIES: dict[str, str] = {
    "opt_out": "Understood, we won't contact you again. Sorry for the bother.",
    "complaint": "I'm sorry about this, and thank you for telling us. I've shared your "
    "message with the team so the right person can follow up with you.",
    "legal": "Thank you for letting us know. I've passed your message on to the team.",
    "threat": "Understood, and I'm sorry. I've passed your message on to the team.",
    "human_request": "Of course. I've asked a member of the team to contact you directly.",
    "wrong_person": "Sorry about that, and thanks for letting us know. We'll update our records.",
    "sensitive": "I'm so sorry to hear that. There's no rush at all, and we won't bother you "
    "with this now. Take care.",
    "auto_reply": "Thanks, we'll follow up when you're back.",
    "bounce": "No reply needed: this looks like a delivery failure notice.",
    "injection": "Thanks for your message! How can we help you today?",
    "existing_customer": "Sorry for the extra messages, and thank you for being a customer. "
    "I've flagged this so the team can sort it out.",
}
NO_ANSWER = "I'll ask a colleague to follow up on that."


def _docs(inputs: Mapping[str, Any]) -> list[Doc]:
    return list(inputs.get("knowledge") or [])


def strategy(inputs: Mapping[str, Any]) -> dict[str, Any]:
    message = str(inputs.get("message", ""))
    docs = _docs(inputs)
    flags = intents_detect(message)
    questions = questions_in(message)
    meeting = meeting_read(message)
    if flags:
        intent = flags[0]
    elif meeting.wants_meeting:
        intent = "meeting_request"
    elif questions:
        intent = "question"
    elif shows_interest(message):
        intent = "interest"
    else:
        intent = "other"

    chosen: list[Doc] = []
    plan: list[str] = []
    if intent in RISKY_INTENTS and intent != "commitment_request":
        plan.append(f"Acknowledge briefly ({intent.replace('_', ' ')}); no sales content.")
    else:
        for question in questions or [message]:
            ranked = doc_rank(question, docs)
            top = ranked[0][0] if ranked else 0.0
            picked = [doc for score, doc in ranked[:2] if score * 2 >= top]
            chosen.extend(doc for doc in picked if doc not in chosen)
            if picked:
                titles = ", ".join(str(doc["title"]) for doc in picked)
                plan.append(f"Answer from {titles}: {question}")
            else:
                plan.append(f"No source answers this; a colleague follows up: {question}")
        if intent in ("meeting_request", "interest"):
            booking = booking_doc(docs)
            if booking is not None and booking not in chosen:
                chosen.append(booking)
            if times_available(meeting.times, booking_windows(docs)):
                plan.append("Say the proposed time is within the stated hours; offer booking.")
            elif any(t.specific for t in meeting.times):
                plan.append("Acknowledge the proposed time; a person confirms it.")
            else:
                plan.append("Offer the booking options the knowledge gives.")
        if intent == "commitment_request":
            plan.insert(0, "Promise nothing the knowledge does not state.")
    return {
        "intent": intent,
        "risk_flags": flags,
        "questions": questions,
        "answer_plan": plan,
        "source_ids": [str(doc["id"]) for doc in chosen],
        "should_reply": intent not in ("auto_reply", "bounce"),
        "tone": "empathetic" if intent in ("sensitive", "complaint") else "warm",
    }


def _first_name(inputs: Mapping[str, Any]) -> str:
    name = str((inputs.get("lead") or {}).get("name") or "").strip()
    return name.split()[0] if name else ""


def compose(
    *,
    greeting: str,
    body: Sequence[str],
    channel: str,
    signature: str,
    max_chars: int | None,
) -> str:
    """Email: greeting, a paragraph, a sign-off. SMS and chat: one paragraph; SMS keeps
    whole sentences while they fit."""
    if channel == "email":
        lines = [greeting, "", " ".join(body)]
        if signature:
            lines += ["", f"Best regards,\n{signature}"]
        return "\n".join(lines).strip()
    kept = [greeting]
    for sentence in body:
        candidate = " ".join([*kept, sentence])
        if max_chars is not None and len(candidate) > max_chars and len(kept) > 1:
            break
        kept.append(sentence)
    return " ".join(kept)


def generation(inputs: Mapping[str, Any]) -> dict[str, Any]:
    plan = inputs["strategy"]
    message = str(inputs.get("message", ""))
    channel = str(inputs.get("channel", "email"))
    max_chars = inputs.get("max_chars")
    docs = {str(doc["id"]): doc for doc in _docs(inputs)}
    chosen = [docs[i] for i in plan.get("source_ids", []) if i in docs]
    intent = plan["intent"]
    name = _first_name(inputs)
    greeting = (
        (f"Hi {name}," if name else "Hi there,")
        if channel == "email"
        else (f"Hi {name}!" if name else "Hi!")
    )
    body: list[str] = []
    used: list[str] = []

    def add(sentence: str, doc_id: str | None = None) -> None:
        if sentence not in body:
            body.append(sentence)
        if doc_id and doc_id not in used:
            used.append(doc_id)

    if intent in HOLDING_REPLIES:
        add(HOLDING_REPLIES[intent])
    else:
        per_question = 1 if channel == "sms" else 2
        if intent == "commitment_request":
            add("Thanks for sharing that. I can't promise a price here, but here is how it works:")
        if intent == "interest":
            add("Thanks for your interest!")
        meeting = meeting_read(message)
        proposed = [t for t in meeting.times if t.specific]
        if proposed and times_available(proposed, booking_windows(chosen)):
            # The knowledge states these hours: saying so confirms nothing nobody checked,
            # and the booking sentences below say how to fix the exact slot.
            add(f"Thanks! {available_times_text(proposed)} is within our available hours.")
        elif proposed:
            add(f"Thanks! Let me check {proposed[0].text} with the team and confirm.")
        for question in plan.get("questions") or ([] if intent != "question" else [message]):
            if intent == "meeting_request" and meeting_read(question).wants_meeting:
                continue  # the booking sentences below answer it
            answers = answer_sentences(question, chosen, limit=per_question)
            if not answers and intent == "question":
                add(NO_ANSWER)
            for sentence, doc_id in answers:
                add(sentence, doc_id)
        # Next step: how to book. Always for meeting requests and interest; after answers
        # in an email only when the knowledge gives a link to book at.
        wants_booking = intent in ("meeting_request", "interest")
        if wants_booking or (channel == "email" and used):
            booking = booking_doc(chosen if wants_booking else list(docs.values()))
            if booking is not None:
                for sentence in booking_sentences(booking, limit=2, with_link=not wants_booking):
                    add(sentence, str(booking["id"]))
        if not body:
            add("Thanks for reaching out! Could you tell me a little more about what you need?")
    text = compose(
        greeting=greeting,
        body=body,
        channel=channel,
        signature=str(inputs.get("workspace", "")),
        max_chars=max_chars,
    )
    return {"text": text, "source_ids": used}


def available_times_text(proposed: Sequence[TimeMention]) -> str:
    """ "Thursday afternoon", "the time you suggested on Friday": the lead's own words, but
    never a clock time, since every number in a reply must stand in the knowledge."""
    parts = [
        t.text if not t.clock_time else f"the time you suggested on {(t.day or '').title()}"
        for t in proposed
    ]
    text = " and ".join(parts)
    return text[:1].upper() + text[1:]


def verifier(inputs: Mapping[str, Any]) -> dict[str, Any]:
    draft = str(inputs["draft"])
    sources: list[Doc] = list(inputs.get("sources") or [])
    allowed = claim_norms(
        [doc_text(doc) for doc in sources]
        + [str(doc.get("url") or "") for doc in sources]
        + [str(t) for t in inputs.get("thread_texts") or []]
    )
    enforced = claims_enforce(draft, allowed=allowed, max_chars=inputs.get("max_chars"))
    still_used = sources_used(enforced.text, sources) or [str(doc["id"]) for doc in sources]
    return {
        "text": enforced.text,
        "source_ids": still_used,
        "removed": [
            {"sentence": sentence, "claim": claim.raw, "reason": f"{claim.kind} not in sources"}
            for sentence, claim in enforced.removed
        ],
        "unsupported": bool(enforced.removed),
        "shortened": enforced.shortened,
    }


def meeting_extract(inputs: Mapping[str, Any]) -> dict[str, Any]:
    reading = meeting_read(str(inputs.get("message", "")))
    return {
        "wants_meeting": reading.wants_meeting,
        "mode": reading.mode,
        "proposed_times": [
            {
                "text": t.text,
                "day": t.day,
                "part_of_day": t.part_of_day,
                "clock_time": t.clock_time,
            }
            for t in reading.times
        ],
        "timezone": reading.timezone,
    }


_CONFIRMS = (
    "confirmed",
    "you're booked",
    "you are booked",
    "see you on",
    "see you at",
    "booked you",
)


def _confirms(draft: str) -> bool:
    return any(phrase in draft for phrase in _CONFIRMS)


def meeting_gate(inputs: Mapping[str, Any]) -> dict[str, Any]:
    extract = inputs["extract"]
    draft = str(inputs.get("draft", "")).lower()
    if not inputs.get("gate_enabled", True):
        return {"decision": "allow", "reason": "The meeting gate is off for this workspace."}
    if not extract.get("wants_meeting"):
        return {"decision": "allow", "reason": "No meeting requested."}
    specific = [
        t
        for t in extract.get("proposed_times", [])
        if time_is_specific(day=t.get("day"), clock_time=t.get("clock_time"))
    ]
    mentions = [
        TimeMention(
            text=str(t.get("text") or ""),
            day=t.get("day"),
            part_of_day=t.get("part_of_day"),
            clock_time=t.get("clock_time"),
        )
        for t in specific
    ]
    windows = booking_windows(list(inputs.get("knowledge") or []))
    if specific and times_available(mentions, windows) and not _confirms(draft):
        return {
            "decision": "allow",
            "reason": f"The proposed time ({specific[0]['text']}) is inside the availability "
            "the knowledge states; the draft confirms nothing.",
        }
    if specific:
        return {
            "decision": "review",
            "reason": f"The lead proposed a specific time ({specific[0]['text']}); no calendar "
            "is connected to confirm it.",
        }
    if _confirms(draft):
        return {"decision": "review", "reason": "The draft confirms a meeting nobody checked."}
    return {"decision": "allow", "reason": "Meeting requested; the draft offers booking options."}
