#!/usr/bin/env python3
"""Writes shorthand.jsonl: a sixth TEST part of the tiers workload.

Written after `dictated` was read and the readers widened for it, and
measured once, blind, with nothing changed after; its misroutes were not
read by the session that wrote it. Requests as a busy operator types them
into a chat between other things: clipped shorthand ("inv 2044 due?",
"costs wk", "pause autos"), abbreviations, a topic before a dash or colon,
slips of the keyboard ("aprove", "tommorow"), and emoji. Questions are
about the synthetic workspace (src/memory/eval.rs).

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(93311)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names no other part uses, for text not about the workspace.
FIRMS = ["Brightwater Co", "Halcyon Labs", "Redfern Print", "Mosaic Tiles", "Summit Legal", "Tallis Audio"]
STAFF = ["Anouk", "Bram", "Cosima", "Dev", "Elif", "Fergus"]
EMOJI = ["", "", "", " 🙏", " 👍", " pls", " asap", " thx"]


def typed(body):
    return (body + pick(EMOJI)).strip()


def fill(template):
    return template.format(f=pick(FIRMS), s=pick(STAFF), p=pick(PROJECTS), c=pick(CLIENTS),
                           d=pick(["mon", "tue", "wed", "thu", "fri"]))


# Commands (no model: tier 0 or 1 both right).
commands = [
    "pending?", "anything pending", "whats pending", "approvals?", "any approvals waiting", "pendng approvals",
    "status", "status?", "all good?", "system ok?", "health check",
    "costs today", "costs wk", "spend this month?", "model costs?", "$ spent on ai today",
    "digest", "digest pls", "digest now", "todays digest",
    "pause autos", "pause all automations", "stop all workflows", "automations off",
    "resume autos", "unpause workflows", "automations back on", "resume all automations",
    "approve all low risk", "approve low risk", "aprove all low risk ones", "ok approve the last one",
    "approve last", "reject last", "reject the last one", "nope reject that",
    "cancel last", "cancel my last request", "kill the last request", "cancel that",
    "undo last email", "undo the email", "unsend that email",
    "retry failed", "retry the failed one", "rerun last failed",
    "forget {f}", "forget everything about {f}", "delete all notes on {f}",
    "remember: {f} pays net 30", "remember {s} is off on {d}", "note: {f} moved to new office",
    "remmeber that {f} prefers invoices by email", "help", "commands?", "what can u do",
]
for _ in range(100):
    add(typed(fill(pick(commands))), 0, "reply", "command")

# Small talk.
chat = ["ty", "thx!", "👍 thanks", "gm", "hey", "cheers", "nice", "great thx", "morning", "k thanks"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers, clipped.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"inv {n} amount?", f"INV-{n} due when?", f"{c} - what do they need before renewing?",
                 f"who'd we meet from {c}?"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"{p} launch - why postponed?", f"{p} launch pushed to when?", f"failing backup job on {p}?"]
for who in PEOPLE:
    memory_q += [f"{who} urgent - call or email?", f"best way to reach {who} when urgent?"]
memory_q += ["wifi pw - how often does it change?", "VAT return - when filed?", "visitor parking which day?",
             "espresso machine descale after how many cups?", "new hire day 1 - what do they get?",
             "travel expense over 200 eur - what's needed?", "domain renewal when?",
             "customer db backups offsite when?"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(typed(q), 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["{f} vat number?", "office alarm code?", "who's our insurance broker?", "{s} phone #?",
           "last yr revenue?", "how many seats on the figma plan?", "when's the lease up?",
           "which bank do we use for payroll?", "{f} account manager?", "printer toner model?"]
for _ in range(40):
    add(typed(fill(pick(unknown))), 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent).
actions = ["email {f}: invoice attached, due {d}", "email {s} re {p} standup moved to {d}",
           "send {f} the updated quote", "pls email {f} that payment landed", "hit the {p} deploy hook",
           "trigger {p} staging webhook", "fire {p} release hook now", "email {s} the {p} notes",
           "tell {f} by email we're closed {d}", "can u email {f} re the late delivery"]
for _ in range(70):
    add(typed(fill(pick(actions))), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["onboard {f}: contract, welcome email, kickoff w/ {s}",
         "{p} retro - find a date, book room, send agenda to team",
         "month end: gather invoices, reconcile w/ bank, summary to accountant",
         "{f} signed -> send kickoff pack, set up board, tell {s}",
         "{s} leaving: final pay, get laptop back, farewell email to all"]
for _ in range(50):
    add(typed(fill(pick(goals))), 3, "intent", "goal")

# Reminders (tier 0).
reminders = ["remind me {d} 9am call {s}", "remind me tmrw 10am to send {f} invoice",
             "remind me in 30 min check {p} deploy", "remind me tommorow to chase {f}",
             "reminder {d} 3pm: review {p} budget", "every fri 4pm remind me timesheets"]
for _ in range(30):
    add(typed(fill(pick(reminders))), 0, "reply", "reminder")

# The saved workflow (tier 1, an intent).
wf = ["weekly report for {c}", "{c} weekly report", "send {c} their weekly report", "weekly report to {c} pls"]
for _ in range(15):
    add(typed(fill(pick(wf))), 1, "intent", "workflow")

write_part(items, rng, "shorthand.jsonl",
           ["requests.jsonl", "heldout.jsonl", "fresh.jsonl", "unseen.jsonl", "letters.jsonl", "dictated.jsonl"])
