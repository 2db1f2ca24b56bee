#!/usr/bin/env python3
"""Writes dictated.jsonl: a fifth TEST part of the tiers workload.

Written at the start of a session, before reading any other part's
misroutes, and measured once before anything changed: requests as a
phone's speech-to-text writes down what the operator says while walking or
driving (fillers, "hey steward", no punctuation or the wrong one, numbers
and times in words, run-on sentences), and as an operator whose English is
a second language writes them ("please you can…", "I want that…"). Its
questions are about the synthetic workspace (src/memory/eval.rs).

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(51207)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names no other part uses, for text not about the workspace.
FIRMS = ["Northwind Bakery", "Pelican Freight", "Juniper Dental", "Orbit Signs", "Larkspur Books", "Vantage Roofing"]
STAFF = ["Dmitri", "Chiara", "Kwame", "Ingrid", "Mateo", "Yuki"]
FILLER = ["", "", "", "um ", "uh ", "okay so ", "hey steward ", "yeah so ", "right ", "ok "]
TAIL = ["", "", "", " please", " thanks", " thank you", " ok", " yeah"]


def said(body):
    """As the phone writes it down: mostly lower case, punctuation often lost."""
    text = pick(FILLER) + body + pick(TAIL)
    r = rng.random()
    if r < 0.45:
        text = text.lower().replace("?", "").replace(".", "").replace(",", "")
    elif r < 0.75:
        text = text[0].upper() + text[1:]
        if not text.endswith(("?", ".")):
            text += "."
    return text.strip()


def fill(template):
    return template.format(f=pick(FIRMS), s=pick(STAFF), p=pick(PROJECTS), c=pick(CLIENTS),
                           n=pick(["three", "five", "twelve", "twenty", "4", "15"]))


# Commands (no model: tier 0 or 1 both right).
commands = [
    "what's waiting on me", "anything I need to approve", "do I have stuff to approve right now",
    "what needs my okay", "show me what's pending", "list the approvals",
    "how are things running", "is everything ok with the system", "give me the status",
    "how much did the AI cost today", "what's my model bill this week", "how much have I spent on tokens this month",
    "send me the digest", "can I get the daily digest now", "give me today's summary digest",
    "stop all the automations for now", "pause the workflows", "put the automations on hold",
    "turn the automations back on", "start the workflows again", "resume everything that was paused",
    "approve all the low risk ones", "approve everything low risk", "yes approve the last one",
    "reject that last one", "no reject the latest request", "decline the last request",
    "cancel what I just asked", "cancel my last request", "scratch that last request",
    "undo that email", "take back the last email", "undo the email I just sent",
    "retry the failed one", "try the failed one again", "run the last failed request again",
    "forget about {f}", "delete everything you have on {f}", "wipe what you know about {f}",
    "remember {f} wants invoices in PDF only", "remember that {s} is on leave till the {n}th",
    "make a note {f} pays in thirty days", "keep in mind {s} doesn't work Fridays",
    "what can you do", "help", "what commands are there",
    "please you can show me the pending approvals", "I want that you approve all low risk",
    "please to cancel my last request", "I want to know how much cost the models today",
]
for _ in range(100):
    add(said(fill(pick(commands))), 0, "reply", "command")

# Small talk.
chat = ["thanks", "thank you so much", "ok great", "cool thanks", "hey", "good morning steward", "perfect",
        "nice one", "alright thanks", "hello", "good night", "awesome"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers, as dictated.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"how much is invoice INV-{n}", f"when is INV-{n} due",
                 f"what does {c} want before they renew", f"who did we meet at {c}"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"why did we push the {p} launch", f"when is the {p} launch now",
                 f"which backup job keeps failing on {p}"]
for who in PEOPLE:
    memory_q += [f"how do I reach {who} if it's urgent", f"does {who} prefer a call or an email"]
memory_q += ["when does the wifi password change", "when is the VAT return filed",
             "when can visitors use the parking", "how often do we descale the coffee machine",
             "what does a new hire get on day one", "what's the rule for big travel expenses",
             "when does our domain renew", "what time are the customer backups copied offsite",
             "please you can tell me when the VAT return is filed", "I want to know what new hires are getting"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(said(q), 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["who fixes our printer", "what's the door code for the storage room", "how much did we make last quarter",
           "when is {s}'s birthday", "what's {f}'s tax number", "which courier do we use for {f}",
           "what's the landlord's phone number", "how many licences do we have for the design tool",
           "when did we last raise prices", "what's the insurance renewal date"]
for _ in range(40):
    add(said(fill(pick(unknown))), 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent).
actions = ["email {f} that their order shipped", "send {s} an email saying the {p} meeting moved to three",
           "can you email {f} the new quote", "tell {f} by email we got their payment",
           "hit the {p} deploy webhook", "trigger the {p} staging hook", "fire off the {p} release webhook",
           "shoot {s} an email about the {p} budget", "let {f} know by email the delivery is late",
           "please you can send email to {f} for confirm the meeting", "I want that you email {s} the {p} plan"]
for _ in range(70):
    add(said(fill(pick(actions))), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["get {f} set up as a client draft the contract send a welcome email and book a kickoff with {s}",
         "plan the {p} offsite pick a date book a venue and email everyone the agenda",
         "close the month collect all invoices match them to the bank and send the summary to the accountant",
         "when {f} signs send the onboarding pack create the project board and tell {s}",
         "sort out {s} leaving final payslip get the laptop back and send a goodbye note to the team"]
for _ in range(50):
    add(said(fill(pick(goals))), 3, "intent", "goal")

# Reminders (tier 0).
reminders = ["remind me tomorrow at nine to call {s}", "remind me at 3 pm to send {f} the invoice",
             "remind me in twenty minutes to check the {p} deploy", "remind me on monday to chase {f}",
             "set a reminder for friday at 10 to review the {p} budget", "every monday at 8 remind me to check the inbox"]
for _ in range(30):
    add(said(fill(pick(reminders))), 0, "reply", "reminder")

# The saved workflow (tier 1, an intent).
wf = ["send {c} the weekly report", "do the weekly report for {c}", "weekly report for {c}",
      "run {c}'s weekly report"]
for _ in range(15):
    add(said(fill(pick(wf))), 1, "intent", "workflow")

write_part(items, rng, "dictated.jsonl",
           ["requests.jsonl", "heldout.jsonl", "fresh.jsonl", "unseen.jsonl", "letters.jsonl"])
