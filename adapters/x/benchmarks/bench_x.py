"""Benchmarks of the X adapter and the social cycle. Prints numbers; asserts nothing.

    .venv/bin/python adapters/x/benchmarks/bench_x.py [--records 5000]

1. fetch: interactions/s and API calls pulling the sandbox's mentions over real sockets;
2. sync: the whole engine cycle (fetch + analyse + store) for the same sandbox;
3. social: posts/s through one social cycle (seen ledger, 2 rules, windows, alerts);
4. brand safety: drafts checked per second.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from empathy_bridge.engine import Bridge
from empathy_bridge.secrets import Secrets
from empathy_bridge.social.ops import SocialOps
from empathy_bridge.social.safety import check_draft
from empathy_bridge.social.settings import BrandSafetySettings, SocialSettings
from empathy_bridge_x.adapter import XAdapter, XSourceConfig
from empathy_bridge_x.sandbox import SANDBOX_CREDENTIALS, XSandbox

RULES = [
    {"name": "outage-spike", "kind": "spike", "match": {"terms": ["outage", "down"]}},
    {"name": "big", "kind": "post", "match": {"min_followers": 10000,
                                              "states": ["frustration"]}},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("empathy_bridge").setLevel(logging.ERROR)
    with XSandbox(seed=1, records=args.records, rate_limits=False) as sandbox:
        config = XSourceConfig.model_validate({**sandbox.demo_source_config(),
                                               "search_queries": []})
        adapter = XAdapter("x", config, Secrets(environ=SANDBOX_CREDENTIALS))
        started = time.perf_counter()
        pulled = sum(len(b.interactions) for b in adapter.fetch(None))
        seconds = time.perf_counter() - started
        print(f"fetch: {pulled} interactions in {seconds:.2f}s = {pulled / seconds:.0f}/s, "
              f"{adapter.api_calls.total()} API calls (page size {config.page_size})")

        with tempfile.TemporaryDirectory() as tmp:
            environ = {**SANDBOX_CREDENTIALS, "EMPATHY_BRIDGE_PLUGINS": "x"}
            bridge = Bridge.from_config({
                "store": {"url": f"sqlite:///{Path(tmp) / 'bench.db'}"},
                "sources": {"x": sandbox.demo_source_config()},
            }, environ=environ)
            started = time.perf_counter()
            report = bridge.sync("x")
            seconds = time.perf_counter() - started
            print(f"sync: {report.pulled} pulled, {report.analyzed} analysed in {seconds:.2f}s = "
                  f"{report.analyzed / seconds:.0f}/s ({report.status})")
            settings = SocialSettings.model_validate({"rules": RULES})
            ops = SocialOps(bridge.store, settings, adapter_for=bridge.adapter,
                            secrets=bridge.secrets)
            started = time.perf_counter()
            social = ops.run(post=False)
            seconds = time.perf_counter() - started
            print(f"social: {social.seen} posts in {seconds:.2f}s = {social.seen / seconds:.0f}/s, "
                  f"matched {social.matched}, alerts {len(social.alerts)}")
            bridge.close()

    settings_bs = BrandSafetySettings(blocked_phrases=["guarantee", "lawsuit"])
    texts = ["So sorry about this, could you DM us so we can help? https://acme.example/help",
             "Call +1 555 123 4567 or email jo@example.com about order #1234567"] * 5000
    started = time.perf_counter()
    for text in texts:
        check_draft(text, settings_bs, platform_max_length=280)
    seconds = time.perf_counter() - started
    print(f"brand safety: {len(texts)} drafts in {seconds:.2f}s = {len(texts) / seconds:.0f}/s")


if __name__ == "__main__":
    main()
