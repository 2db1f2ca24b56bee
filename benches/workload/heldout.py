#!/usr/bin/env python3
"""Writes heldout.jsonl: the TEST part of the tiers workload.

`requests.jsonl` (generate.py) is the tuning part: thresholds, examples and
command phrasings were adjusted while looking at it. This file is never
tuned on. Its requests come from templates and vocabulary of their own
(other verbs, other sentence shapes, requests to act phrased as questions,
commands in the words an operator types on a phone), written without
reading the router's examples. `steward-bench tiers` reports the two parts
separately, and the CI floor applies to this one.

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Memory questions ask about the synthetic workspace the bench loads
(src/memory/eval.rs) in different words. Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(4242)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names the tuning part never uses, for text that is not about the workspace.
OTHERS = ["Bolt Studio", "Northwind", "Pied Piper", "Soylent", "Vandelay", "Massive Dynamic"]
FOLKS = ["Ana", "Bruno", "Chen", "Dara", "Eli", "Farah"]


# Commands in an operator's own words (no model: tier 0 or 1 both right).
commands_reply = [
    "what's pending?", "anything for me to approve?", "show me what's waiting", "what needs my ok",
    "pending approvals?", "any approvals outstanding", "list what is waiting for me",
    "status?", "how are we doing", "quick status check", "give me a health check", "is everything ok?",
    "help", "what commands are there", "how does this work?",
    "costs this week", "what did I spend on models today?", "model costs this month",
    "how much have the models cost since monday", "spend so far today",
    "send me the digest now", "digest please", "send the daily digest",
    "pause all automations", "stop every automation for now", "resume automations", "turn the automations back on",
    "approve all low risk", "approve every low-risk request", "reject the last one", "cancel the intent I just made",
    "undo the last email", "retry the failed one",
    "forget everything about {o}", "forget all you know about {o}",
    "remember: {o} pays net 30", "note that {o} pays by card", "keep in mind that {f} starts on the 3rd",
    "remember — the {o} contract ends in May", "Remember: our DUNS number is {n}",
]
for _ in range(90):
    t = pick(commands_reply).format(o=pick(OTHERS), f=pick(FOLKS), n=rng.randint(100000, 999999))
    add(t, 0, "reply", "command")

# Small talk and thanks.
chat = ["ok thanks", "thx", "perfect, thank you", "good evening", "hiya", "morning!", "cool, cheers",
        "much appreciated", "hello again", "great work"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers, in words the tuning part does not use.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"what's the due date on INV-{n}?", f"INV-{n}: how many euros?",
                 f"what is {c} waiting for before signing the renewal?", f"which {c} person did we meet?",
                 f"what did {c} request ahead of the renewal?"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"why did we push back the {p} launch?", f"until when is the {p} launch delayed?",
                 f"the {p} database server: which backup job keeps failing?"]
for who in PEOPLE:
    memory_q += [f"best way to get hold of {who} in an emergency?", f"should I call or email {who} if it's urgent?"]
memory_q += ["how often do we rotate the office wifi password?", "who files our VAT return and when?",
             "which day are the parking spots for visitors?", "when does the coffee machine need descaling?",
             "what kit does a new hire get?", "what's needed to claim a trip over two hundred euros?",
             "when does our domain renew?", "where do the nightly customer database backups go?"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(q, 1, "reply", "memory")

# Questions nothing in memory answers: the researcher says so (tier 2).
unknown = ["what did the landlord say about the rent increase?", "when is our next investor call?",
           "who took the photos for the website?", "what's the door code at the warehouse?",
           "how much did we pay for the conference booth?", "when does the car lease end?",
           "what was the courier's tracking code yesterday?", "who is our bank advisor?",
           "what did the tax inspector ask for?", "when is the next team offsite?",
           "which printer model do we have?", "what's the name of our insurance broker?"]
for i in range(45):
    add(unknown[i % len(unknown)], 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent), including requests phrased as questions.
actions = ["jot down that {o} signed the NDA", "log a note: {f} fixed the {p} build",
           "make a note that the {p} invoice went out", "could you note that {o} moved the call to Thursday?",
           "can you write down that {f} is off on Friday?", "please record that {o} approved the budget",
           "fire the {p} deploy hook", "ping the {p} rebuild webhook", "can you trigger the {p} preview hook?",
           "would you run the {p} cache-purge webhook", "tell {o} the draft is ready",
           "can you email {o} the invoice?", "let {f} know the {p} demo moved to 3pm",
           "please message {o} that we received the payment"]
for _ in range(75):
    add(pick(actions).format(o=pick(OTHERS), f=pick(FOLKS), p=pick(PROJECTS)), 2, "intent", "action")
# "could you note that …" is "note that …" (remember a fact) asked
# politely: the courtesy changes nothing. Relabelled when the reader took
# courtesies off every command, as the issue reads "note that …".
for it in items:
    if it["text"].startswith("could you note that"):
        it.update(tier=0, expect="reply", kind="command")

# Multi-step goals (tier 3).
goals = ["onboard {o}: send the welcome kit, book a kickoff and tell the team",
         "chase every overdue invoice from {o}, remind them twice and log what you sent",
         "set up the {p} release: draft notes, notify partners and schedule the announcement",
         "close the quarter: collect the numbers, send them to the accountant and keep a record",
         "plan {f}'s first week: laptop, accounts, intro meetings and a welcome note",
         "prepare the {o} renewal: pricing, a proposal draft and a call with {f}",
         "can you organise the {p} retro, collect feedback and send the summary to {o}?",
         "move the {p} launch by a week, tell everyone affected and update the plan"]
for _ in range(55):
    add(pick(goals).format(o=pick(OTHERS), f=pick(FOLKS), p=pick(PROJECTS)), 3, "intent", "goal")

# Reminders, in other shapes (tier 0).
when = ["next tuesday", "tomorrow at noon", "in 45 minutes", "on thursday at 10", "in a week", "tonight at 8"]
tasks = ["ring {f}", "pay the {o} invoice", "book the {p} review", "renew the parking permit",
         "send {o} the contract"]
for i in range(30):
    task = pick(tasks).format(f=pick(FOLKS), o=pick(OTHERS), p=pick(PROJECTS))
    form = i % 3
    if form == 0:
        add(f"remind me {pick(when)} to {task}", 0, "reply", "reminder")
    elif form == 1:
        add(f"remind me to {task} {pick(when)}", 0, "reply", "reminder")
    else:
        add(f"/remind {pick(when)} {task}", 0, "reply", "reminder")

# The saved workflow asked for in other words (tier 1, an intent).
said = ["weekly report for {c}, please", "do the weekly report for {c}", "{c}: weekly report",
        "I need {c}'s weekly report", "could you send {c} the weekly report?"]
for _ in range(15):
    add(pick(said).format(c=pick(CLIENTS)), 1, "intent", "workflow")

write_part(items, rng, "heldout.jsonl", ["requests.jsonl"])
