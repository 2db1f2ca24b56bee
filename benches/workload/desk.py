#!/usr/bin/env python3
"""Writes desk.jsonl: a seventh TEST part of the tiers workload.

Written at the end of the session that read `dictated` and `shorthand`,
after the last reader change, and measured once, blind; its misroutes
were not read by that session. Requests as an operator at their desk
writes them over a working day, in no one register: plain, terse or
chatty, with vocabulary the other parts do not use ("sign-off queue",
"burn", "bring the jobs back", "ditch", "scrub"), questions with the
topic first, and requests to act phrased as questions. Questions are
about the synthetic workspace (src/memory/eval.rs).

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(60419)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names no other part uses, for text not about the workspace.
FIRMS = ["Corvid Analytics", "Fennel & Sage", "Grayline Taxis", "Ironbark Tools", "Juno Florists", "Kepler Optics"]
STAFF = ["Agnieszka", "Bertrand", "Carmen", "Dario", "Eun-ji", "Farid"]


def fill(template):
    return template.format(f=pick(FIRMS), s=pick(STAFF), p=pick(PROJECTS), c=pick(CLIENTS),
                           d=pick(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]))


# Commands (no model: tier 0 or 1 both right).
commands = [
    "what's in my sign-off queue?", "anything for me to sign off?", "what's waiting for a yes from me?",
    "show pending", "what needs a decision from me today?",
    "how's steward doing?", "are you up?", "everything running smoothly?", "quick health check please",
    "what's the AI burn today?", "how much have the models eaten this week?", "LLM spend this month?",
    "what did we spend on tokens yesterday?",
    "send the daily digest", "can I see the digest?", "digest me", "what's today's digest?",
    "hold all the scheduled jobs", "pause every automation until I say so", "freeze the workflows",
    "bring the scheduled jobs back", "restart the automations", "turn workflows back on please",
    "sign off everything low risk", "approve the low-risk stuff", "green-light all low risk requests",
    "yes, approve that one", "go ahead with the last one", "reject the most recent one", "deny the last request",
    "ditch my last ask", "cancel the thing I just asked for", "never mind my last request",
    "reverse the email you just sent", "undo the last email please", "take back that last email",
    "give the failed one another try", "retry whatever failed last", "rerun the failed request",
    "scrub everything about {f}", "forget all you know about {f}", "remove every note on {f}",
    "remember that {f} invoices on the 1st", "note that {s} starts on {d}", "remember: {s} is vegetarian",
    "please remember {f} wants two days' notice", "what can you help with?", "how do I use you?",
]
for _ in range(100):
    add(fill(pick(commands)), 0, "reply", "command")

# Small talk.
chat = ["cheers!", "thanks a bunch", "much obliged", "good afternoon", "hiya steward", "you're a star",
        "brilliant, ta", "appreciate it", "hello again", "nice work"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"How much is INV-{n} for?", f"What's the due date on INV-{n}?",
                 f"For the {c} renewal, what was their condition?", f"Which of our people met {c}?"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"What held up the {p} launch?", f"When's the {p} launch rescheduled to?",
                 f"The {p} database server - which nightly job keeps failing?"]
for who in PEOPLE:
    memory_q += [f"If it's urgent, do I ring {who} or email?", f"How does {who} like to be contacted in a hurry?"]
memory_q += ["How often do we rotate the Wi-Fi password?", "When does the accountant do the VAT return?",
             "What day is visitor parking?", "When is the coffee machine due for descaling?",
             "What kit does a new starter get?", "What do I need to claim a big travel expense?",
             "When is the domain up for renewal?", "What time do the customer backups go offsite?"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(q, 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["What's the alarm code for the back door?", "Who's {f}'s finance contact?",
           "How much is our monthly rent?", "When is {s}'s contract up?", "Which accountant did we use before?",
           "What's our Slack plan?", "Where do we keep the spare keys?", "What was {f}'s last order?",
           "How many laptops do we own?", "What's the bank's sort code?"]
for _ in range(40):
    add(fill(pick(unknown)), 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent).
actions = ["Could you drop {f} an email saying their order is on the way?", "Email {s} the {p} minutes.",
           "Can you let {f} know by email that we're closed on {d}?", "Send {s} a note by email about the {p} demo.",
           "Kick off the {p} deploy webhook.", "Ping the {p} staging webhook.", "Fire the {p} release hook.",
           "Would you email {f} the signed contract?", "Shoot {f} an email confirming {d}.",
           "Mail {s} the revised {p} timeline."]
for _ in range(70):
    add(fill(pick(actions)), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["Get {f} onboarded: contract out, welcome email, and a kickoff call with {s}.",
         "Set up the {p} review: find a slot, book a room and send everyone the agenda.",
         "Close out the quarter - pull the invoices, reconcile with the bank, and send the accountant a summary.",
         "Once {f} signs, send the welcome pack, create the project board and brief {s}.",
         "Handle {s}'s exit: last payslip, laptop return and a goodbye email to the team."]
for _ in range(50):
    add(fill(pick(goals)), 3, "intent", "goal")

# Reminders (tier 0).
reminders = ["Remind me {d} at 11 to call {s}.", "Remind me in two hours to check on the {p} deploy.",
             "Set me a reminder for tomorrow 9am: invoice {f}.", "Remind me next {d} to follow up with {f}.",
             "Every {d} at 5pm remind me to send the timesheets.", "Can you remind me at 4 to ring {s}?"]
for _ in range(30):
    add(fill(pick(reminders)), 0, "reply", "reminder")

# The saved workflow (tier 1, an intent).
wf = ["Weekly report for {c}, please.", "Send {c} the weekly report.", "Time for {c}'s weekly report.",
      "Run the weekly report for {c}."]
for _ in range(15):
    add(fill(pick(wf)), 1, "intent", "workflow")

write_part(items, rng, "desk.jsonl",
           ["requests.jsonl", "heldout.jsonl", "fresh.jsonl", "unseen.jsonl", "letters.jsonl", "dictated.jsonl",
            "shorthand.jsonl"])
