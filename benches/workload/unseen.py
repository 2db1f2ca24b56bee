#!/usr/bin/env python3
"""Writes unseen.jsonl: a third TEST part of the tiers workload.

fresh.jsonl stopped being blind once its misroutes were read to widen the
readers. This part was written before that reading, from templates,
names and a register used in no other part: lower-case, unpunctuated,
dictated messages, slang and filler ("ok so", "pls", "gimme"), commands
with the request buried in a sentence, questions about the synthetic
workspace (src/memory/eval.rs) as an operator would type them on a phone,
and requests to act as questions, needs and orders. Never tuned on: once
its misroutes are read, it is stale too, and a new part is written.

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(40417)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names no other part uses, for text not about the workspace.
OUTSIDERS = ["Brightwater", "Nordlicht GmbH", "Pinecone Media", "Halcyon Travel", "Vesper Bakery", "Orbit Print"]
MATES = ["Rosa", "Tariq", "Yuki", "Bram", "Nadia", "Elif"]


def fill(template):
    return template.format(o=pick(OUTSIDERS), m=pick(MATES), p=pick(PROJECTS), c=pick(CLIENTS),
                           n=rng.randint(100, 999))


# Commands (no model: tier 0 or 1 both right).
commands = [
    # pending approvals
    "anything need my ok", "what am i supposed to approve", "show pending stuff", "pending approvals pls",
    "is anything stuck waiting on me", "ok what needs signing off today",
    # status and help
    "status report", "you alive?", "health check pls", "how are things running", "help",
    "how do i use you", "what commands are there",
    # costs
    "how much have i spent on ai this week", "model bill for today", "ai costs so far this month",
    "what did the llms cost over the last 7 days", "token spend yesterday",
    # digest
    "send the digest", "digest pls", "gimme the digest", "run the daily digest now",
    # pausing and resuming every workflow
    "stop all the automations", "halt every workflow", "pause all scheduled stuff",
    "turn the automations back on", "start the workflows again", "resume all workflows pls",
    # decisions by reference
    "approve everything low risk", "yes approve the low risk ones", "reject that one",
    "decline the most recent approval", "approve the last one", "ok go ahead and approve the latest",
    # cancel, undo, retry by reference
    "cancel the last thing i asked", "never mind cancel it", "undo the last email you sent",
    "roll back that email", "retry the failed one", "run the last failed one again",
    # forgetting
    "forget {o}", "erase what you know about {o}", "remove everything on {o} from memory",
    # remembering
    "remember {o} is closed in august", "remember - {m}'s birthday is may {n}",
    "keep in mind that {o} wants invoices as pdf", "remember this: {o} po box is {n}",
]
for _ in range(100):
    add(fill(pick(commands)), 0, "reply", "command")

# Small talk.
chat = ["cheers!", "great thanks", "thanks a bunch", "perfect thank you", "morning!", "hello",
        "good afternoon", "ok cool", "awesome", "brilliant thanks"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers, typed as on a phone.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"how much are we billing {c} on inv-{n}", f"when's INV-{n} due", f"who did i meet at {c}",
                 f"does {c} have conditions for renewing", f"what does {c} want before they sign again",
                 f"remind me what INV-{n} was for"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"whats blocking the {p} launch", f"when is {p} going live now",
                 f"which backup job keeps failing on {p}", f"what happened with BKP-{70 + i}"]
for who in PEOPLE:
    memory_q += [f"best way to get hold of {who} if its urgent", f"is {who} a phone or email person"]
memory_q += ["how often do we change the wifi password", "when is the vat return filed",
             "can visitors park behind the building", "when does the coffee machine need descaling",
             "what do new starters get on day one", "do i need a receipt for a 300 euro trip",
             "when does the domain renew", "what time do the offsite backups run"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(q, 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["whats the name of our landlord", "how much did the team offsite cost",
           "which bank holds our savings account", "what size are the office monitors",
           "who fixed the printer last time", "when does the office lease end", "whats the insurance policy number",
           "how many users signed up yesterday", "which courier did we use for the samples",
           "what's the door code for the storage room"]
for i in range(40):
    add(unknown[i % len(unknown)], 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent): emails and webhook calls as orders,
# questions and needs.
actions = ["ping {m} by email that the {p} call moved to 3", "send a quick mail to {o} confirming thursday",
           "can u email {o} the updated price list", "i want {o} emailed about the late delivery",
           "mail {m} the link to the {p} board", "would you email {o} and say we got the samples",
           "trigger the {p} deploy", "fire off the {p} webhook", "kick the {p} build hook",
           "can you hit the {p} release webhook for me", "need the {p} preview hook called",
           "message {o} to say the invoice is attached"]
for _ in range(70):
    add(fill(pick(actions)), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["onboard {o}: send the contract, set up their invoice schedule and introduce them to {m}",
         "close out {p} - archive the docs, send the final invoice to {o} and thank the team",
         "organise a team offsite, find dates, book a place and email everyone the agenda",
         "when {o} pays, email them a receipt and ask {m} to start the work",
         "get ready for the audit: collect last years invoices, check them against the bank and send a summary to the accountant",
         "plan the {p} launch week - book the venue, email the press list and brief {m} on the slides"]
for _ in range(50):
    add(fill(pick(goals)), 3, "intent", "goal")

# Reminders (tier 0).
reminders = ["set a reminder for thursday 10am to renew the {o} contract", "remind me in 45 minutes to check the oven",
             "ping me tomorrow at noon about the {p} review", "reminder: call {m} at 5pm",
             "remind me on the 15th to pay {o}", "every monday at 8 remind me to check the bank",
             "remind me every weekday at 9 to post the standup", "in 20 min remind me to call {m} back"]
for _ in range(30):
    add(fill(pick(reminders)), 0, "reply", "reminder")

# The saved workflow in yet other words (tier 1, an intent).
said = ["do the weekly report for {c}", "weekly report, {c}", "kick off {c}'s weekly report",
        "i need the weekly report for {c}"]
for _ in range(15):
    add(fill(pick(said)), 1, "intent", "workflow")

write_part(items, rng, "unseen.jsonl", ["requests.jsonl", "heldout.jsonl", "fresh.jsonl"])
