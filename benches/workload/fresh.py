#!/usr/bin/env python3
"""Writes fresh.jsonl: a second TEST part of the tiers workload.

heldout.jsonl stopped being blind once its misroutes were read (they are
listed in a closing note, and the command reader was widened after). This
part was written after that, before any change was measured on it, from
templates, names and sentence shapes used in neither other part: operator
shorthand, commands with the object first, requests to act as questions
and as statements of need, and questions about the synthetic workspace
(src/memory/eval.rs) in yet other words. Never tuned on: a change made
after reading its misroutes makes it stale too, and then a new part is
written, not this one edited.

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(90210)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names neither other part uses, for text not about the workspace.
OUTSIDERS = ["Quartz Labs", "Lumen & Co", "Redwood Dental", "Kite Logistics", "Mosaic Foods", "Ironbark"]
MATES = ["Gita", "Hugo", "Ines", "Jamal", "Kofi", "Lucia"]


# Commands (no model: tier 0 or 1 both right).
commands = [
    "approvals waiting?", "do I have anything to sign off", "queue of approvals", "show the approval queue",
    "anything awaiting my decision?", "what's open for me",
    "system health?", "everything running?", "all systems ok?", "how's steward doing",
    "what can you do?", "list the commands", "commands?",
    "spend today", "llm costs for the last 14 days", "what has steward cost this month?",
    "total model spend this week", "how much did the AI cost yesterday",
    "today's digest please", "digest now", "can I get the digest?",
    "automations off", "put the workflows on hold", "suspend the scheduled jobs",
    "automations on again", "re-enable the workflows", "unpause everything scheduled",
    "ok approve the low risk stuff", "accept all the low-risk ones", "deny the latest request",
    "approve that", "scrap my last request", "cancel that", "try the last failed one again",
    "revert the latest email", "undo that",
    "wipe everything you have on {o}", "delete all records about {o}",
    "remember that {o} invoices quarterly", "note: {m} prefers calls after 2pm",
    "don't forget: the {o} PO number is {n}",
]
for _ in range(100):
    t = pick(commands).format(o=pick(OUTSIDERS), m=pick(MATES), n=rng.randint(10000, 99999))
    add(t, 0, "reply", "command")

# Small talk.
chat = ["thank you so much", "ta", "appreciate it", "nice one", "thanks, that's all", "good morning steward",
        "hey there", "yo", "evening", "hi again"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"INV-{n} due when?", f"amount on invoice INV-{n}?", f"who's our contact at {c}?",
                 f"{c} renewal: what are they holding out for?", f"anything {c} asked for before renewing?"]
for p in PROJECTS:
    memory_q += [f"reason the {p} launch slipped?", f"new date for the {p} launch?",
                 f"{p} db backups: what's failing?"]
for who in PEOPLE:
    memory_q += [f"urgent thing for {who}: phone or mail?", f"how do I reach {who} fast?"]
memory_q += ["wifi password rotation: how often?", "who does the VAT filing?", "visitor parking: which day?",
             "coffee machine descaling schedule?", "onboarding kit contents?", "expense claims over 200 euros: what's needed?",
             "domain renewal date?", "where are customer db backups stored each night?"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(q, 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["what's the wifi password at the co-working space?", "when did we last repaint the office?",
           "who designed our first logo?", "what's our electricity supplier?", "how many chairs did we order?",
           "what did the plumber charge?", "which airline did Gita fly last month?", "where is the spare key?",
           "who won the office quiz?", "what's the fax number of the notary?"]
for i in range(40):
    add(unknown[i % len(unknown)], 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent), as orders, questions and needs.
actions = ["add a note: {o} wants the quote in USD", "put on record that {m} returned the laptop",
           "could you log that {o} paid the deposit?", "I need a note saying the {p} audit passed",
           "hit the {p} deploy webhook", "call the {p} staging webhook please",
           "would you mind triggering the {p} rebuild hook?", "email {o} that the order shipped",
           "could you drop {o} an email about the delay?", "I need you to tell {m} the {p} review is moved",
           "shoot {o} a message saying thanks for the payment", "will you let {o} know we're closed on Monday?"]
for _ in range(70):
    add(pick(actions).format(o=pick(OUTSIDERS), m=pick(MATES), p=pick(PROJECTS)), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["get {o} set up as a client: contract, welcome email and a kickoff call with {m}",
         "sort out the {p} handover: write the notes, brief {m} and tell {o} who to contact",
         "wrap up the month: gather invoices, send them to the bookkeeper and note what's missing",
         "I need the {p} beta prepared: invite testers, send instructions and collect feedback",
         "could you arrange {m}'s leaving: final payslip, return of kit and a goodbye note?",
         "reschedule the {p} workshop, inform attendees and rebook the room"]
for _ in range(50):
    add(pick(goals).format(o=pick(OUTSIDERS), m=pick(MATES), p=pick(PROJECTS)), 3, "intent", "goal")

# Reminders (tier 0).
when = ["tomorrow morning", "on friday at 4pm", "in 2 hours", "next monday at 9", "in 3 days", "at 6pm"]
tasks = ["call {m}", "chase the {o} payment", "prep the {p} demo", "water the plants", "back up the laptop"]
for i in range(30):
    task = pick(tasks).format(m=pick(MATES), o=pick(OUTSIDERS), p=pick(PROJECTS))
    if i % 2 == 0:
        add(f"remind me {pick(when)} to {task}", 0, "reply", "reminder")
    else:
        add(f"remind me to {task} {pick(when)}", 0, "reply", "reminder")

# The saved workflow in other words (tier 1, an intent).
said = ["{c} weekly report", "run the weekly report for {c}", "weekly report on {c} please",
        "can you do {c}'s weekly report?"]
for _ in range(15):
    add(pick(said).format(c=pick(CLIENTS)), 1, "intent", "workflow")

write_part(items, rng, "fresh.jsonl", ["requests.jsonl", "heldout.jsonl"])
