#!/usr/bin/env python3
"""A client in another language: publish a daa job from the documented schema alone.

Usage: submit_csv.py NATS_URL USER PASSWORD

Publishes a JSON job with an inline CSV to JetStream (subject daa.jobs.submit, header
Nats-Msg-Id = job id) and waits for the result document on its reply_to. Prints the
result document as JSON on stdout. Exits non-zero on timeout.
"""
import asyncio
import base64
import json
import sys
import uuid

import nats


async def main() -> int:
    url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
    nc = await nats.connect(url, user=user, password=password)
    js = nc.jetstream()
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    job_id = str(uuid.uuid4())
    csv = "city,country,population\nLyon,France,522250\nPorto,Portugal,231800\n"
    job = {
        "v": 1,
        "job_id": job_id,
        "source": {"inline": {"name": "cities.csv", "data": base64.b64encode(csv.encode()).decode()}},
        "requirements": {"extract_text": True, "extract_tables": True},
        "priority": "high",
        "deadline_ms": 30000,
        "reply_to": inbox,
    }
    await js.publish(
        "daa.jobs.submit",
        json.dumps(job).encode(),
        headers={"Content-Type": "application/json", "Nats-Msg-Id": job_id},
    )
    msg = await sub.next_msg(timeout=30)
    doc = json.loads(msg.data)
    print(json.dumps(doc))
    await nc.close()
    return 0 if doc.get("job_id") == job_id else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
