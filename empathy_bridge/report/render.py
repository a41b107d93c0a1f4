"""HTML of the report: the index page and one relationship page per customer.

Pages are self-contained (inline CSS and SVG; no script, no external resource), so they open
offline, attach to an e-mail and print. Every value is escaped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from empathy_bridge import __version__
from empathy_bridge.report.data import CustomerHistory, ReportData
from empathy_bridge.report.svg import (
    STATE_COLOURS,
    Bar,
    Point,
    bar_chart,
    grouped_bars,
    line_chart,
    timeline,
)
from empathy_bridge.schemas import EmpathyMetric, Tier

__all__ = ["render_customer", "render_index"]

_CSS = """
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2937;
background:#f8fafc;line-height:1.45}
header{background:#0f172a;color:#f8fafc;padding:24px 32px}
header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#cbd5e1}
nav{padding:8px 32px;background:#e2e8f0;font-size:14px}nav a{margin-right:14px;color:#0f172a}
main{padding:8px 32px 48px;max-width:1100px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 20px;margin:18px 0}
h2{font-size:19px;margin:0 0 8px}h3{font-size:15px;margin:16px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 150px;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px;
background:#f9fafb}
.card .v{font-size:24px;font-weight:600}.card .l{font-size:13px;color:#475569}
.card .d{font-size:12px}.up{color:#047857}.down{color:#b91c1c}.muted{color:#64748b;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{background:#f1f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
blockquote{margin:8px 0;padding:8px 12px;border-left:4px solid #94a3b8;background:#f8fafc}
blockquote.neg{border-color:#D55E00}blockquote.pos{border-color:#009E73}
.flag{color:#b91c1c;font-weight:600}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}
"""

_PERCENT = {"personalisation_rate", "active_listening_rate", "validation_rate",
            "emotion_acknowledgment_rate", "next_step_rate", "escalation_rate",
            "priority_raised_rate", "transfer_rate", "handoff_rate", "unprompted_positive_rate",
            "sla_attainment", "first_contact_resolution", "repeat_contact_rate"}

_KPIS = [
    ("personalisation_rate", "Personalised replies", True),
    ("active_listening_rate", "Active listening", True),
    ("sla_attainment", "SLA attained", True),
    ("sentiment_recovery", "Sentiment recovery", False),
    ("unprompted_positive_rate", "Unprompted positive", True),
    ("first_contact_resolution", "First-contact resolution", True),
    ("repeat_contact_rate", "Repeat contact", True),
    ("escalation_rate", "Escalated", True),
]
#: Metrics where a rise is bad news (colour of the change arrow).
_LOWER_IS_BETTER = {"repeat_contact_rate", "escalation_rate", "agent_tone_spread"}


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="generator" content="empathy-bridge {escape(__version__)}">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>")


def _value(metric: EmpathyMetric | None, percent: bool | None = None) -> str:
    if metric is None or metric.value is None:
        return "—"
    pct = metric.name in _PERCENT or metric.name.startswith(("sla_attainment", "cohort_")) \
        if percent is None else percent
    if metric.name.endswith("_difference") or metric.name.startswith(("corr_", "internal_vs")):
        pct = False
    return f"{metric.value * 100:.1f}%" if pct else f"{metric.value:+.2f}" if metric.name in (
        "sentiment_recovery", "agent_tone_mean", "reply_tone") else f"{metric.value:.3g}"


def _ci(metric: EmpathyMetric) -> str:
    if metric.ci_low is None or metric.ci_high is None:
        return ""
    return f"{metric.ci_low:.3g} – {metric.ci_high:.3g}"


def _find(metrics: Iterable[EmpathyMetric], name: str,
          value: str | None = None) -> EmpathyMetric | None:
    for metric in metrics:
        if metric.name == name and (value is None or metric.dimension_value == value):
            return metric
    return None


def _table(metrics: Sequence[EmpathyMetric], *, with_dimension: bool = True,
           flag: str | None = None) -> str:
    if not metrics:
        return '<p class="muted">No data for this period.</p>'
    head = "<tr><th>metric</th>" + ("<th>group</th>" if with_dimension else "") + \
        "<th>value</th><th>95% interval</th><th>n</th><th>how it is computed</th></tr>"
    rows = []
    for metric in metrics:
        flagged = flag is not None and metric.ci_low is not None and metric.ci_low > 0
        rows.append(
            f"<tr><td>{escape(metric.name)}"
            f"{' <span class=flag>high impact</span>' if flagged else ''}"
            f"</td>" + (f"<td>{escape(metric.dimension_value or '')}</td>"
                        if with_dimension else "")
            + f'<td class="num">{escape(_value(metric))}</td><td class="num">'
            f'{escape(_ci(metric))}</td><td class="num">{metric.n}</td>'
            f'<td class="muted">{escape(metric.definition)}</td></tr>')
    return f"<table>{head}{''.join(rows)}</table>"


def _kpis(data: ReportData) -> str:
    cards = []
    for name, label, percent in _KPIS:
        now = _find(data.quarter, name)
        before = _find(data.previous_quarter, name)
        delta = ""
        if now and before and now.value is not None and before.value is not None:
            change = now.value - before.value
            good = (change < 0) if name in _LOWER_IS_BETTER else (change > 0)
            shown = f"{change * 100:+.1f} pts" if percent else f"{change:+.2f}"
            delta = (f'<div class="d {"up" if good else "down"}">{escape(shown)} vs previous '
                     f"quarter</div>")
        n = f"n = {now.n}" if now else ""
        cards.append(f'<div class="card"><div class="v">{escape(_value(now, percent))}</div>'
                     f'<div class="l">{escape(label)}</div>{delta}'
                     f'<div class="muted">{escape(n)}</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _quotes(data: ReportData) -> str:
    parts = ["<h3>Voice of the customer</h3><p class='muted'>Customer messages behind the "
             "numbers, personal data removed (emails, phone and card numbers, names).</p>"]
    for quote in data.negative_quotes:
        parts.append(f'<blockquote class="neg">“{escape(quote.text)}”<div class="muted">'
                     f"{escape(quote.state)} · {escape(quote.channel)} · sentiment "
                     f"{quote.sentiment:+.2f} · {quote.at:%Y-%m-%d}</div></blockquote>")
    for quote in data.positive_quotes:
        parts.append(f'<blockquote class="pos">“{escape(quote.text)}”<div class="muted">'
                     f"{escape(quote.state)} · {escape(quote.channel)} · sentiment "
                     f"{quote.sentiment:+.2f} · {quote.at:%Y-%m-%d}</div></blockquote>")
    if len(parts) == 1:
        parts.append('<p class="muted">No strongly positive or negative messages in the '
                     "period.</p>")
    return "".join(parts)


def _trends(data: ReportData) -> str:
    buckets: dict[datetime, list[EmpathyMetric]] = defaultdict(list)
    for metric in data.series:
        buckets[metric.period_start].append(metric)
    keys = sorted(buckets)
    if len(keys) < 2:
        return '<p class="muted">Too short a period for a trend (fewer than two buckets).</p>'
    labels = [k.strftime("%m-%d") for k in keys]

    def line(name: str) -> list[tuple[str, float | None]]:
        points = []
        for key, label in zip(keys, labels, strict=True):
            metric = _find(buckets[key], name)
            points.append((label, metric.value if metric and metric.n else None))
        return points

    rates = {label: line(name) for name, label in (
        ("personalisation_rate", "personalised"), ("active_listening_rate", "active listening"),
        ("unprompted_positive_rate", "positive (unprompted)"), ("sla_attainment", "SLA attained"),
        ("escalation_rate", "escalated"))}
    scores = {label: line(name) for name, label in (
        ("reply_empathy_score", "reply empathy"), ("sentiment_recovery", "sentiment recovery"),
        ("agent_tone_spread", "agent tone spread"))}
    return (line_chart(rates, title="Rates per period") +
            line_chart(scores, title="Scores per period", percent=False))


def _sla(data: ReportData) -> str:
    bars = []
    for tier in Tier:
        metric = _find(data.overall, f"sla_attainment_{tier.value}")
        if metric is not None:
            bars.append(Bar(tier.value, metric.value, metric.ci_low, metric.ci_high,
                            f"(n={metric.n})"))
    if not bars:
        return '<p class="muted">No conversation with an SLA due time in the period.</p>'
    return bar_chart(bars, title="SLA attainment by emotional tier")


def _agents(data: ReportData) -> str:
    empathy = [m for m in data.by_agent if m.name == "reply_empathy_score"]
    spread = [m for m in data.by_agent if m.name == "agent_tone_spread"]
    if not empathy:
        return '<p class="muted">No agent replies in the period.</p>'
    empathy.sort(key=lambda m: -(m.value or 0))
    parts = [bar_chart([Bar(m.dimension_value or "", m.value, m.ci_low, m.ci_high,
                            f"(n={m.n})") for m in empathy[:25]],
                       title="Mean reply empathy score per agent", percent=False)]
    spread = [m for m in spread if m.value is not None]
    if spread:
        spread.sort(key=lambda m: m.value or 0)
        parts.append("<h3>Tone consistency (spread of agent tone across conversations; "
                     "lower is steadier)</h3>")
        parts.append(bar_chart([Bar(m.dimension_value or "", m.value, note=f"(n={m.n})")
                                for m in spread[:25]], title="Agent tone spread",
                               percent=False, colour="#E69F00"))
    return "".join(parts)


def _load(data: ReportData) -> str:
    if not data.load:
        return '<p class="muted">No agent replies in the period.</p>'
    threshold = data.settings.load_threshold
    bars = []
    for agent, shifts in sorted(data.load.items(), key=lambda kv: -max(kv[1].values()))[:25]:
        worst = max(shifts.values())
        flagged = sum(v > threshold for v in shifts.values())
        bars.append(Bar(agent, float(worst), note=f"({flagged} of {len(shifts)} shifts flagged)"))
    return bar_chart(bars, title="Busiest shift per agent: high-intensity messages answered",
                     percent=False, threshold=float(threshold),
                     threshold_label=f"threshold {threshold}", colour="#CC79A7")


def _cohorts(data: ReportData) -> str:
    groups: dict[str, dict[str, Bar]] = {}
    for metric in data.overall:
        if metric.name.startswith("cohort_") and not metric.name.endswith("_difference"):
            outcome = metric.name.removeprefix("cohort_").replace("_", " ")
            groups.setdefault(outcome, {})[metric.dimension_value or ""] = Bar(
                metric.dimension_value or "", metric.value, metric.ci_low, metric.ci_high,
                f"(n={metric.n})")
    diffs = [m for m in data.overall if m.name.endswith("_difference")]
    return (grouped_bars(groups, title="High-empathy customers vs the rest") if groups else "") \
        + _table(diffs, with_dimension=False)


def _replies(data: ReportData) -> str:
    if not data.best_replies:
        return '<p class="muted">No agent replies in the period.</p>'
    labels = {"name": "name", "specifics": "their specifics", "validation": "validation",
              "acknowledgment": "acknowledged emotion", "paraphrase": "paraphrase",
              "next_step": "next step", "jargon": "jargon"}
    parts = ["<p class='muted'>What the rubric counted in the highest and lowest scored agent "
             "replies (personal data removed).</p>"]
    for title, examples, css in (("Highest empathy", data.best_replies, "pos"),
                                 ("Lowest empathy", data.worst_replies, "neg")):
        parts.append(f"<h3>{title}</h3>")
        for example in examples:
            chips = " · ".join(
                f"<b>{escape(labels.get(k, k))}</b>: {escape(', '.join(v))}"
                for k, v in example.evidence.items())
            parts.append(f'<blockquote class="{css}">“{escape(example.text)}”<div class="muted">'
                         f"empathy {example.empathy:.2f} · agent {escape(example.agent)}"
                         f"{' · ' + chips if chips else ''}</div></blockquote>")
    return "".join(parts)


def _customer_list(data: ReportData) -> str:
    if not data.customers:
        return '<p class="muted">No customers in the period.</p>'
    rows = "".join(
        f'<tr><td><a href="customers/{c.key}.html">{escape(c.label)}</a></td>'
        f"<td>{escape(c.segment or '')}</td><td class=num>{c.contacts}</td>"
        f"<td class=num>{c.peak_intensity:.2f}</td></tr>" for c in data.customers)
    return ("<table><tr><th>customer</th><th>segment</th><th>conversations</th>"
            f"<th>peak intensity</th></tr>{rows}</table>")


def render_index(data: ReportData) -> str:
    """The report's main page."""
    o = data.overall
    sections = [
        ("qbr", "Quarterly business review",
         f"<p class='muted'>Quarter ending {data.end:%Y-%m-%d} against the quarter before.</p>"
         + _kpis(data) + _quotes(data)),
        ("trends", "Metric trends over time", _trends(data)),
        ("sla", "SLA attainment by emotional tier", _sla(data)),
        ("agents", "Agent consistency", _agents(data)),
        ("replies", "Replies behind the scores", _replies(data)),
        ("load", "Agent emotional load", _load(data)),
        ("cohorts", "Cohort comparison", _cohorts(data)),
        ("outcomes", "Resolution, repeat contact and empathy",
         _table([m for m in o if m.name in ("first_contact_resolution", "repeat_contact_rate")
                 or m.name.startswith("corr_")], with_dimension=False)),
        ("segments", "High-impact segments",
         _table([m for m in o if m.name.startswith("disconnection_")], flag="lift")),
        ("ratings", "Internal vs external view",
         _table([m for m in o if m.dimension == "rater"])),
        ("channels", "By channel", _table([m for m in data.by_channel if m.name in (
            "personalisation_rate", "active_listening_rate", "escalation_rate",
            "sentiment_recovery", "unprompted_positive_rate")])),
        ("customers", "Customers that matter most", _customer_list(data)),
        ("definitions", "Every metric, with its definition and n",
         _table([m for m in o if m.dimension != "cohort"])),
    ]
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{escape(title)}</h2>{html}</section>'
                   for key, title, html in sections)
    counts = data.counts
    header = (f"<header><h1>Empathy report</h1><p>{data.start:%Y-%m-%d} – {data.end:%Y-%m-%d}"
              f" · {counts['conversations']} conversations · {counts['customers']} customers · "
              f"{counts['replies']} replies assessed</p></header>")
    return _page("Empathy report", f"{header}<nav>{nav}</nav><main>{body}</main>")


def render_customer(history: CustomerHistory) -> str:
    """One customer's relationship history page."""
    points = []
    for tp in history.touchpoints:
        if tp.sentiment is None:
            continue
        customer = tp.role == "customer"
        points.append(Point(
            at=tp.at, value=tp.sentiment,
            colour=STATE_COLOURS.get(tp.state or "neutral", "#999999") if customer else "#475569",
            size=3 + 6 * (tp.intensity or 0) if customer else 3.0,
            label=f"{tp.at:%Y-%m-%d %H:%M} {tp.role} ({tp.channel}): {tp.state or ''} "
                  f"{tp.sentiment:+.2f}", shape="circle" if customer else "square"))
    legend = "".join(f'<span><i style="background:{c}"></i>{escape(s)}</span>'
                     for s, c in STATE_COLOURS.items())
    chart = timeline(points, title=f"Emotional touchpoints of {history.label}",
                     markers=history.resolutions)
    conv_rows = "".join(
        f"<tr><td>{escape(str(c['conversation_id']))}</td><td>{escape(str(c['channel'] or ''))}"
        f"</td><td class=num>{_num(c['opening_sentiment'])}</td><td class=num>"
        f"{_num(c['closing_sentiment'])}</td><td>{escape(str(c['tier'] or ''))}</td><td>"
        f"{'yes' if c['resolved'] else 'no'}</td><td>{_sla_text(c['sla_met'])}</td>"
        f"<td class=num>{_score(c['mean_empathy'])}</td></tr>" for c in history.conversations)
    tp_rows = "".join(
        f"<tr><td>{tp.at:%Y-%m-%d %H:%M}</td><td>{escape(tp.role)}</td><td>{escape(tp.channel)}"
        f"</td><td>{escape(tp.state or '')}</td><td>{escape(tp.tier or '')}</td><td class=num>"
        f"{_num(tp.sentiment)}</td><td class=num>{_score(tp.empathy)}</td>"
        f"<td>{escape(tp.excerpt)}</td></tr>" for tp in history.touchpoints)
    body = (
        f"<header><h1>Relationship history</h1><p>{escape(history.label)} · segment "
        f"{escape(history.segment or 'none')} · {history.contacts} conversations · peak "
        f"intensity {history.peak_intensity:.2f}</p></header><nav><a href='../index.html'>"
        f"← back to the report</a></nav><main>"
        f"<section id='timeline'><h2>Timeline of emotional touchpoints</h2>{chart}"
        f"<div class='legend'>{legend}<span><i style='background:#475569;border-radius:0'></i>"
        f"agent/bot reply</span><span style='color:#009E73'>┆ resolution</span></div></section>"
        f"<section id='conversations'><h2>Conversations and resolutions</h2><table><tr>"
        f"<th>conversation</th><th>channel</th><th>opening</th><th>closing</th><th>tier</th>"
        f"<th>resolved</th><th>SLA</th><th>reply empathy</th></tr>{conv_rows}</table></section>"
        f"<section id='touchpoints'><h2>Touchpoints</h2><table><tr><th>when</th><th>who</th>"
        f"<th>channel</th><th>state</th><th>tier</th><th>sentiment</th><th>reply empathy</th>"
        f"<th>excerpt (redacted)</th></tr>{tp_rows}</table></section></main>")
    return _page(f"Relationship history: {history.label}", body)


def _num(value: object) -> str:
    return f"{value:+.2f}" if isinstance(value, int | float) else ""


def _score(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else ""


def _sla_text(value: object) -> str:
    return {1: "met", 0: "missed"}.get(value if isinstance(value, int) else -1, "")
