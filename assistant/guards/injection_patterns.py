"""Phrase patterns of prompt-injection and jailbreak attempts, by family, with weights.

Word patterns run on `normalize.words()` output (lower case, punctuation removed), so they
are written with plain spaces. Raw patterns run on the folded original text (they need
punctuation: chat-template tokens, JSON roles, colons). A weight of 1.0 blocks on its own;
weaker cues add up across families (see injection.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GAP = r"(?: \S+){0,%d}"  # up to N intervening words


def gap(n: int) -> str:
    return GAP % n


@dataclass(frozen=True)
class Rule:
    family: str  # what kind of attack, shown in the decision detail
    weight: float
    pattern: re.Pattern
    raw: bool = False  # match against the folded original instead of the word form


def _w(family: str, weight: float, pattern: str) -> Rule:
    return Rule(family, weight, re.compile(pattern))


def _r(family: str, weight: float, pattern: str) -> Rule:
    return Rule(family, weight, re.compile(pattern, re.IGNORECASE), raw=True)


# -- vocabulary -------------------------------------------------------------------------------

OVERRIDE_VERB = (
    r"(?:ignor(?:e|es|ed|ing)|disregard(?:s|ed|ing)?|forg[eo]t(?:ten)?|drop(?:ped)?|cancel(?:led)?|"
    r"overrid(?:e|es|ing)|overrule|bypass(?:ing)?|skip|abandon|discard|set aside|throw away|"
    r"put aside|stop (?:following|obeying|using|applying)|(?:do not|don't|dont|no longer) "
    r"(?:follow|obey|apply)|neglect|erase|wipe|void|revoke|suspend|circumvent|get around|"
    r"ditch|scrap|ignorer?)"
)
# Things that a user may not switch off (the developer's instructions and safety layers).
PROTECTED = (
    r"(?:instructions?|rules|guidelines|directives|system (?:prompt|message|instructions?)|"
    r"guardrails?|safeguards|content polic(?:y|ies)|safety (?:rules|guidelines|filters?|policy|"
    r"measures|settings|stuff|training|layer)|programming|pre ?prompt|initial prompt|"
    r"(?:previous|prior|earlier|preceding|above|former|original|old) (?:\S+ )?(?:instructions?|"
    r"rules|context|messages?|prompts?|directives|guidance|text|orders|constraints)|"
    r"constraints|everything (?:above|before|else you were told)|(?:the|all) above|"
    r"what(?:ever)? you were told|your (?:training|orders|policy|policies|filters?|"
    r"restrictions|limits|limitations|principles|ethics|morals|safety)|"
    r"(?:all|any) (?:filters?|restrictions|limits|limitations))"
)
SOURCES = (
    r"(?:the |your |all |any )?(?:handbook|sources?|documents?|docs|retrieved (?:context|"
    r"passages?|documents?|chunks?)|knowledge base|provided (?:context|sources|passages)|"
    r"context|citations?|references)"
)
REVEAL_VERB = (
    r"(?:reveal|print|show|display|output|repeat|recite|tell|give|share|paste|dump|leak|"
    r"disclose|expose|list|echo|quote|spell|write (?:out|down)|type out|read (?:out|back|aloud)|"
    r"copy|send|translate|summari[sz]e|encode|return|provide|describe|hand over|read|"
    r"what (?:is|are|was|were|does|do)|what's|whats|explain)(?:s|ed|ing)?"
)
SECRET_THINGS = (
    r"(?:system ?prompt|prompt template|prompt|pre ?prompt|instructions?|system message|"
    r"developer message|system instructions?|rules|guidelines|configuration|config|directives|"
    r"context window|hidden text|settings|guardrails?(?: config(?:uration)?)?|"
    r"initial prompt|meta ?prompt|policies|operating (?:rules|instructions))"
)
QUALIFIER = (
    r"(?:full|entire|complete|exact|original|initial|hidden|secret|internal|system|real|"
    r"verbatim|first|underlying|confidential|current|actual|whole|raw|private|own|"
    r"developer|previous|prior|above)"
)
OWNER = (
    r"(?:your|ur|yer|its|thy|the assistant's|this assistant's|this bot's|the bot's|the model's|"
    r"the ai's|this ai's)"
)
AI = (
    r"(?:ai|a\.i|llm|llms|language models?|assistants?|chat ?bots?|bots?|models?|agents?|"
    r"ai (?:systems?|agents?|assistants?|models?|crawlers?|readers?)|gpts?|summari[sz]ers?|"
    r"crawlers?|scrapers?|copilots?)"
)
HARM = (
    r"(?:key ?loggers?|ransomware|malware|computer virus|trojan|botnet|rootkit|spyware|"
    r"phishing (?:e ?mails?|kits?|pages?|sites?|campaign)|fake (?:id|ids|passports?|invoices?|"
    r"identit(?:y|ies)|licen[cs]es?)|counterfeit|explosives?|pipe bombs?|a bomb|thermite|napalm|"
    r"chlorine gas|mustard gas|nerve agents?|sarin|ricin|methamphetamine|crystal meth|"
    r"untraceable (?:gun|weapon)s?|ghost guns?|credit card skimmer|card skimming|ddos attacks?|"
    r"zero day exploits?)"
)
HARM_ACTION = (
    r"(?:crack(?:ing)? (?:\S+ ){0,3}(?:wifi|wi fi|password|passwords|account)|steal(?:ing)? "
    r"(?:\S+ ){0,3}(?:cookies|credentials|passwords?|identit(?:y|ies)|data|tokens)|hack(?:ing)? "
    r"into|break(?:ing)? into (?:\S+ ){0,3}(?:accounts?|e ?mail|computer|house|car)|bypass(?:ing)? "
    r"(?:\S+ ){0,2}login|invad\w* (?:\S+ ){0,4}conta|poison(?:ing)? (?:\S+ ){0,4}(?:dataset|"
    r"training data|water)|activation keys?|license keys?|get around (?:\S+ ){0,4}content "
    r"filters?|hide (?:\S+ ){0,4}(?:injection|malware|from antivirus)|evad\w* antivirus|"
    r"without (?:them|anyone) (?:knowing|noticing)|hurt (?:someone|myself|people)|kill "
    r"(?:someone|a person|people|my))"
)
# "How do attackers ..." asks how an attack works (the handbook teaches it), not for help with one.
THIRD_PARTY = r"(?:attackers?|hackers?|adversaries|criminals|scammers|malicious users|red teamers)"
REQUEST = (
    rf"(?:how (?:to|(?:do|can|would|could|should|might)(?! {THIRD_PARTY}\b))|explain|tell me|"
    r"show me|give me|steps? (?:to|for)|guide|tutorial|instructions (?:for|on|to)|write|make|"
    r"build|create|recipe|teach me|help me|walk me through|describe)"
)

# -- rules ------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    # 1. Override the developer's instructions.
    _w("override instructions", 1.0, rf"\b{OVERRIDE_VERB}\b{gap(5)} {PROTECTED}\b"),
    _w("override instructions", 1.0,
       r"\b(?:instructions?|rules|guidelines|directives|prompt|polic(?:y|ies)|constraints|"
       r"restrictions)(?: \S+){0,6} (?:are|is|were|have been|has been) (?:now )?(?:\S+ )?"
       r"(?:void|revoked|cancel+ed|expired|outdated|out of date|obsolete|lifted|suspended|"
       r"disabled|deprecated|a test|no longer (?:valid|apply|applicable|in effect|active)|"
       r"misconfigured|superseded|overridden|replaced|off)\b"),
    _w("override instructions", 1.0,
       r"\b(?:no longer|don't|do not|dont|doesn't|does not|never) (?:apply|applies|matter|count|"
       r"bind|binds)\b(?: \S+){0,3} (?:to me|here|anymore|now|in this|for this)"),
    _w("override instructions", 1.0,
       r"\bnew (?:instructions|rules?|policy|directive|system prompt|task|prime directive|"
       r"guidelines) (?:supersede|override|replace|take precedence|has priority|have priority|"
       r"for you|you must|is|are)\b"),
    _w("override instructions", 1.0,
       r"\b(?:has|have|takes?) (?:priority|precedence) over (?:your|the|any|all) (?:\S+ )?"
       r"(?:instructions|system prompt|rules|guidelines)"),
    _w("override instructions", 1.0,
       r"\b(?:turn|switch|shut) off\b(?: \S+){0,3} (?:filters?|guardrails?|safety|restrictions|"
       r"censorship|content polic(?:y|ies)|moderation|safeguards|rules)\b"),
    _w("override instructions", 1.0,
       r"\b(?:disable|deactivate|remove|lift|drop|relax|loosen|suspend|bypass)\b(?: \S+){0,2} "
       r"(?:your|ur|its|the assistant's|all|any|all the|the) (?:safety |content )?(?:filters?|"
       r"guardrails?|safety|restrictions|censorship|content polic(?:y|ies)|moderation|"
       r"safeguards|limitations|rules)\b"),
    _w("override instructions", 1.0,
       r"\b(?:safety|content|guardrail|moderation) (?:filters?|polic(?:y|ies)|guardrails?|"
       r"checks?) (?:are |is |have been |has been )?(?:disabled|off|removed|turned off|"
       r"switched off|deactivated|lifted|bypassed)\b"),
    _w("override instructions", 0.8,
       r"\b(?:ignore|disregard)\w* (?:the |this |your )?(?:user|reader|human|person|visitor)"
       r"(?:'s)?(?: (?:question|request|query|message|prompt))?\b"),
    _w("override instructions", 0.6,
       r"\b(?:new|updated|revised|real|actual|true) (?:instructions?|rules?|policy|directives?|"
       r"task|system prompt|orders)\b"),
    _w("override instructions", 0.5,
       r"\b(?:rules|instructions|guidelines|restrictions|filters) (?:are|were) (?:just|only|"
       r"merely) (?:suggestions|guidelines|optional|a joke)\b"),
    _w("override instructions", 0.6,
       r"\b(?:forget|reset|wipe|clear|erase)\b(?: \S+){0,3} (?:everything|all|anything)\b"
       r"(?: \S+){0,4} (?:told|taught|learned|given|instructed|know)\b"),
    _w("override instructions", 0.6,
       r"\b(?:you are|you're|you re|become|act as|be) (?:now )?(?:a |an )?(?:fresh|new|blank|"
       r"clean|different|reset) (?:model|ai|assistant|instance|slate|bot)\b"),
    _w("override instructions", 0.7,
       r"\bwith(?:out)? (?:no|any) (?:system prompt|instructions|rules|guidelines|filters?|"
       r"restrictions|limits|constraints)\b"),
    # 2. Ignore the sources / stop citing / never refuse.
    _w("ignore sources", 1.0,
       rf"\b{OVERRIDE_VERB}\b{gap(3)} {SOURCES}\b"),
    _w("ignore sources", 1.0,
       r"\b(?:pretend|imagine|assume|act like|act as if)\b(?: \S+){0,3} (?:handbook|sources?|"
       r"documents?|knowledge base|context) (?:doesn't|does not|don't|do not|didn't) exist"),
    _w("ignore sources", 1.0,
       r"\b(?:answer|respond|reply|rely)\w*(?: \S+){0,5} (?:purely |only |solely |entirely "
       r")?(?:from|on|using) (?:your |ur )?(?:own )?(?:memory|knowledge|training(?: data)?|"
       r"imagination|beliefs?|opinion|what i tell you)\b"),
    _w("ignore sources", 1.0,
       r"\b(?:never|don't|do not|dont|doesn't|does not|won't|will not|shouldn't|stop|no more|"
       r"without|skip|drop|omit|no) (?:\S+ )?(?:cit(?:e|ing|ations?)|sources|references)\b"),
    _w("ignore sources", 0.8,
       r"\b(?:never|don't|do not|stop|without) (?:mention|mentioning|naming|name|referenc\w*|"
       r"us(?:e|ing)) (?:the |any |a |your )?(?:handbook|sources?|documents?)\b"),
    _w("ignore sources", 1.0,
       r"\b(?:never|don't|do not|dont|stop|won't) (?:ever )?(?:refus\w*|declin\w*|say i "
       r"don't know|say i do not know|say 'i don't know'|admit (?:uncertainty|you don't know)|"
       r"say (?:you|that you) can't)\b"),
    _w("ignore sources", 1.0,
       r"\b(?:make up|invent|made up|fabricate|invent a few|pretend to know)\b"
       r"(?: \S+){0,4} (?:answers?|facts?|statistics|numbers|quotes?|sources?|citations?|"
       r"confident|anything|things|stuff)\b"),
    _w("ignore sources", 1.0,
       r"\b(?:contradict|do the opposite of|say the opposite of|give the opposite of)\b"
       r"(?: \S+){0,4} (?:handbook|documents?|sources?|instructions|advice|rules)\b"),
    _w("ignore sources", 0.8,
       r"\b(?:use|using) (?:anything|whatever|any knowledge|everything) (?:you like|you want|"
       r"you know|not just)\b"),
    # 3. Extract the system prompt or configuration.
    _w("system prompt extraction", 1.0,
       rf"\b{REVEAL_VERB}\b{gap(6)} {OWNER} (?:{QUALIFIER} ){{0,3}}{SECRET_THINGS}\b"),
    _w("system prompt extraction", 1.0,
       rf"\b{REVEAL_VERB}\b{gap(6)} (?:the|all|all the|all of the) (?:\S+ )?(?:hidden|secret|"
       rf"internal|confidential|system|initial|original|verbatim|underlying|developer|private) "
       rf"(?:system prompt|prompt template|prompt|instructions|system message|developer message|"
       rf"rules|configuration|config|settings)\b"),
    _w("system prompt extraction", 1.0,
       r"\b(?:reveal|print|dump|leak|paste|disclose|recite|expose|output|show me|echo)\b"
       r"(?: \S+){0,3} (?:the )?(?:system prompt|system message|developer message|prompt template|"
       r"context window|hidden (?:rules|instructions|prompt|config\w*))\b"),
    _w("system prompt extraction", 1.0,
       r"\b(?:rules?|instructions?|guidelines|directives|prompt|orders) (?:that |which )?(?:you|u) "
       r"(?:were|have been|was|got|are) (?:given|told|programmed|instructed|fed|set up|"
       r"configured)\b"),
    _w("system prompt extraction", 0.8,
       r"\b(?:rules|instructions|guidelines|directives|policies) (?:that |which )?(?:you|u) "
       r"(?:follow|obey|operate under|have|received|got|use|apply)\b"),
    _w("system prompt extraction", 1.0,
       r"\b(?:what|which \w+)(?: \w+ly)? (?:were|was|have|had|did) (?:you|u) (?:been )?(?:told|"
       r"instructed|"
       r"programmed|given|asked|configured)\b"),
    _w("system prompt extraction", 1.0,
       r"\b(?:repeat|print|output|echo|show|copy|quote|paste|return|reproduce|recite|dump)\w*\b"
       r"(?: \S+){0,4} (?:text|everything|all|words|content|contents|messages?|lines?|"
       r"what(?:ever)? (?:is|was|came|comes|appears)) (?:\S+ ){0,5}(?:above|before (?:this|my|"
       r"the user|your)|prior to (?:this|my)|preceding)\b"),
    _w("system prompt extraction", 1.0,
       r"\b(?:what's|what is|what was|whats|what came|everything) (?:\S+ ){0,2}(?:in your "
       r"context|before my (?:first )?(?:message|msg|question)|above my (?:message|msg)|before "
       r"this conversation|at the start of (?:this|the|your) (?:conversation|context))"),
    _w("system prompt extraction", 0.7,
       r"\b(?:full|entire|complete) context (?:window )?(?:you|that you|u) (?:received|got|see|"
       r"have)\b"),
    _w("system prompt extraction", 0.5,
       rf"\b(?:in|of|from|inside) {OWNER} (?:{QUALIFIER} ){{0,2}}(?:system prompt|instructions|"
       rf"system message|developer message|hidden rules|initial prompt|configuration|"
       rf"prompt template)\b"),
    _w("system prompt extraction", 0.5,
       r"\b(?:verbatim|word for word|word by word|line by line|exactly as (?:written|they appear|"
       r"it appears|given)|the exact (?:text|wording|words)|placeholders included|in full|"
       r"one at a time|don't summari[sz]e it)\b"),
    _w("system prompt extraction", 0.7,
       r"\b(?:my|the|your) (?:full |entire |complete |system |hidden |initial )*(?:system prompt|"
       r"instructions|prompt) (?:is|are|says?|reads?|tells? me)\b"),
    _w("system prompt extraction", 0.7,
       r"\bhere (?:is|are) (?:my|the) (?:full |entire |complete |hidden |system )*(?:system "
       r"prompt|instructions|rules|prompt)\b"),
    _w("system prompt extraction", 0.6,
       r"\b(?:how many|how long)\b(?: \S+){0,3} (?:your|ur) (?:system prompt|instructions)\b"),
    _w("system prompt extraction", 0.6,
       r"\b(?:exact|all the|all your) (?:thresholds|regexes|regular expressions|allow ?lists|"
       r"block ?lists|deny ?lists|filter rules)\b"),
    _w("system prompt extraction", 0.4,
       r"\b(?:your|ur) (?:system prompt|system message|system instructions|developer message|"
       r"hidden (?:rules|instructions|text)|initial instructions|secret (?:rules|instructions)|"
       r"instructons|configuration)\b"),
    _w("system prompt extraction", 0.8,
       r"\b(?:instructions|prompt|rules|configuration)\b(?: \S+){0,4} (?:the same as|identical "
       r"to|same as|exactly like|match(?:ing)?) (?:yours|your own|ur own|your real)\b"),
    _w("system prompt extraction", 0.6,
       r"\b(?:list|quote|print|show|repeat|give|write|paste)\w* (?:them|it|those|these) (?:all )?"
       r"(?:in full|verbatim|word for word|exactly|back)\b"),
    _w("system prompt extraction", 0.5,
       r"\b(?:paste|send|give|read|copy|type|hand)\w* (?:it|them) back\b"),
    _w("system prompt extraction", 0.5,
       r"\b(?:guardrails?|rules|filters?|settings|validators?|thresholds?|checks) (?:that are )?"
       r"(?:configured|set up|defined|enabled|active|in place) (?:for|in|on) (?:this|the|your) "
       r"(?:assistant|bot|app|application|system|deployment|chat)\b"),
    _w("system prompt extraction", 0.5,
       r"\b(?:output|print|show|repeat|copy|dump) (?:everything|all|the text) between\b"),
    _r("instructions aimed at the AI", 0.8, r"<\s*/?\s*system\s*>"),
    # 4. Persona and jailbreak role-play.
    Rule("jailbreak persona", 0.8, re.compile(r"\bDAN\b"), raw=True),  # case-sensitive
    _w("jailbreak persona", 1.0,
       r"\b(?:do anything now|strive to avoid norms|developer mode (?:gpt|enabled|on|activated|"
       r"output)|jailbroken|jailbreak mode|dan mode|evil (?:mode|bot|assistant|twin)|"
       r"opposite (?:bot|mode|day))\b"),
    _w("jailbreak persona", 0.8,
       r"\b(?:developer|sudo|god|jailbreak|unrestricted|unfiltered|dan|maintenance|"
       r"unlocked|chaos) mode\b"),
    _w("jailbreak persona", 0.3, r"\b(?:debug|admin|root|test) mode\b"),
    _w("jailbreak persona", 0.7,
       r"\b(?:no|without(?: any)?|free (?:of|from)|not bound by(?: any)?|unbound by|zero|"
       r"doesn't have|does not have|don't have|ignores?(?: all)?|beyond|outside|broken free of|"
       r"liberated from|freed from|not (?:subject|restricted) to)(?: \S+){0,2} (?:content "
       r"|safety |ethical |moral )?(?:restrictions|rules|filters|filtering|limits|limitations|"
       r"censorship|polic(?:y|ies)|guidelines|guardrails|boundaries|morals|ethics|constraints|"
       r"confines|safeguards|safety (?:training|measures))\b"),
    _w("jailbreak persona", 0.6,
       r"\b(?:unfiltered|unrestricted|uncensored|unchained|unshackled|unbound|amoral|no limits|"
       r"limitless|without limits|unaligned|rogue|evil)\b"),
    _w("jailbreak persona", 0.4,
       r"\b(?:pretend|imagine|act as|act like|roleplay|role play|play the role|play a character|"
       r"you are my|you're my|you are now|you're now|you are going to act|"
       r"from now on you(?:'re| are| will)|you will "
       r"be|be my|simulate|stay in character|in character|answer as|reply as|respond as|"
       r"speak as|you play|let's play|character called|persona|screenplay|a story in which|"
       r"hypothetical(?:ly)?|in a (?:hypothetical|fictional|fantasy) (?:world|universe)|"
       r"for (?:a|my) (?:novel|story|movie|film|script|book)|improv|rehears\w+)\b"),
    _w("jailbreak persona", 0.5,
       r"\b(?:stay in character|no matter what|never break character|don't break character|"
       r"stay in (?:that|this) (?:hypothetical|role|mode)|for the rest of (?:the|this) "
       r"(?:chat|conversation|session)|for all future (?:messages|questions|answers)|"
       r"keep \S+ mode on)\b"),
    _w("jailbreak persona", 0.7,
       r"\b(?:(?:you are|you're|you re|u r) (?:now )?(?:no longer|not) (?:a |an |the )?"
       r"(?:\S+ )?(?:assistant|ai|bot|chatbot|model)|predates? safety|before (?:your )?safety "
       r"training|loves? breaking (?:the )?rules|breaks? (?:all )?(?:the )?rules|"
       r"opposite of (?:its|your|the|his|her) (?:instructions|rules|guidelines|advice)|"
       r"(?:ignores?|disobeys?) (?:its|their|his|her) (?:developers?|creators?|instructions|"
       r"programming)|throw away (?:its|your|their|his|her) system prompt)\b"),
    _w("jailbreak persona", 0.4,
       r"\b(?:two (?:ais|personas|responses|answers|modes)|answer (?:every question |each "
       r"question )?twice|once as each|both (?:personas|characters))\b"),
    _w("jailbreak persona", 0.3,
       r"\b(?:late )?(?:grandma|grandmother|grandpa|grandfather|granny)\b"),
    _w("jailbreak persona", 0.6,
       r"\b(?:dump|recite|read)\w*(?: \S+){0,3} (?:your )?(?:memory|memories|logs)\b"),
    # 5. Claims of authority and mode switches.
    _w("authority claim", 0.5,
       r"\b(?:i am|i'm|im|i m|this is) (?:the|your|an?|one of the) (?:\S+ )?(?:developer|"
       r"developers|admin|administrator|owner|creator|operator|engineer who built|maintainer|"
       r"sysadmin|ceo)\b"),
    _w("authority claim", 0.5,
       r"\bi (?:wrote|created|built|designed|programmed|trained|configured|deployed|made) "
       r"(?:you|your)\b"),
    _w("authority claim", 0.5,
       r"\b(?:the )?(?:admin|administrator|developer|developers|operator|owner|ceo|security team)"
       r" (?:said|says|told|has authori[sz]ed|authori[sz]ed|approved|allows|permits|wants)\b"),
    _w("authority claim", 0.8,
       r"\b(?:system|admin|administrator|security|root|emergency|developer) override\b"),
    _w("authority claim", 0.5,
       r"\b(?:clearance level|security clearance|i have (?:clearance|permission|authori[sz]ation)|"
       r"(?:you are|you're) (?:now )?(?:allowed|permitted|authori[sz]ed) to)\b"),
    _w("authority claim", 0.6,
       r"\b(?:mode|filters?|polic(?:y|ies)|guardrails?|safety|restrictions|censorship) "
       r"(?:on|off|disabled|enabled|false|none|0)\b(?: (?:mode|filters?|policy|guardrails?|"
       r"safety) (?:on|off|disabled|enabled|false|none))?"),
    _w("authority claim", 0.4,
       r"\b(?:root|admin|superuser|elevated|sudo) (?:privileges|access|rights|permissions)\b"),
    _w("authority claim", 0.3,
       r"\b(?:from now on|from this point(?: on| forward)?|from here on|for the rest of (?:this|"
       r"the) (?:chat|conversation)|in all future (?:answers|replies)|every answer from now)\b"),
    _w("authority claim", 0.4,
       r"\b(?:is required|are required|you must|you have to|you need to) (?:to )?(?:disclose|"
       r"reveal|comply|obey|share)\b"),
    # 6. Exfiltration of data, history, secrets.
    _w("data exfiltration", 0.9,
       r"\b(?:send|forward|e ?mail|post|upload|transmit|leak|append|add|put|include|embed|"
       r"attach|copy|output|print|list|dump|show|paste)\w*(?: \S+){0,8} (?:(?:chat|conversation|"
       r"message) (?:history|log|logs|transcripts?)|(?:other|previous|prior|all|every|earlier) "
       r"users?'?s?'? (?:messages|questions|conversations|chats|data|msgs|history)|mailbox|"
       r"inbox|(?:the |this )?(?:whole|entire|full) (?:conversation|chat|transcript|mailbox)|"
       r"(?:all )?(?:prev(?:ious)?|earlier|past) (?:user )?(?:msgs|messages|questions)|"
       r"conversation so far|(?:the )?user'?s? (?:e ?mail address|ip|ip address|location|"
       r"password|data))\b"),
    _w("data exfiltration", 0.9,
       r"\b(?:print|show|list|reveal|dump|read|give|output|display|tell|paste|cat|return|share|"
       r"send|read me)\w*(?: \S+){0,4} (?:api keys?|access keys?|secret keys?|tokens|passwords|"
       r"secrets|credentials|environment variables|env vars|env file|process environment|"
       r"the environment|aws (?:secret )?keys?|private keys?|session cookies)\b"),
    _w("data exfiltration", 0.9,
       r"\b(?:keys?|tokens|secrets|passwords|credentials) (?:that are |which are )?in "
       r"(?:your|the) (?:environment|env|context|config\w*|memory|context window)\b"),
    _r("data exfiltration", 0.9,
       r"(?:cat\s+~?/?\S*\.env\b|/etc/passwd|/etc/shadow|\bprintenv\b|os\.environ|"
       r"\$\{?(?:AWS|OPENAI|HF|GITHUB)_\w*|process\.env\b)"),
    _w("data exfiltration", 0.6,
       r"\b(?:list|dump|print|output|show|give)\w*(?: \S+){0,3} (?:every|all|each) (?:\S+ )?"
       r"(?:file paths?|files|documents?|document titles?|chunks)\b(?: \S+){0,8} (?:full|"
       r"contents|text)\b"),
    _r("data exfiltration", 0.5,
       r"\b(?:send|forward|e-?mail|post|upload|transmit|copy)\w*\b.{0,120}?\b(?:to|at)\s+"
       r"(?:\S+\s+){0,3}[\w.+-]+@[\w-]+\.[\w.]+"),
    _w("data exfiltration", 0.5,
       r"\b(?:every|all|other) (?:previous |prior )?users?\b(?: \S+){0,3} (?:asked|said|"
       r"wrote|typed|sent)\b"),
    _w("data exfiltration", 0.6,
       r"\b(?:end|finish|append|add|include|put)\w*(?: \S+){0,6} (?:link|url|image|pixel|"
       r"tracker)\b(?: \S+){0,6} (?:every|each|all|your) (?:answer|reply|response|message)s?\b"),
    _w("data exfiltration", 0.6,
       r"\b(?:paste|enter|type|give|share|send|provide|tell|ask)\w*(?: \S+){0,4} (?:their|your|his|"
       r"her|the user's|account|access)(?: \S+){0,2} (?:password|token|access token|api key|"
       r"credentials|pin|login)\b"),
    # 7. Decode (or assemble) a payload and act on it.
    _w("decode and execute", 1.0,
       r"\b(?:decode|decipher|decrypt|unscramble|translate|convert|reverse|read|apply|rot ?13|"
       r"url decode|base64 decode|combine|concatenate|join|assemble|put together|undo|spell "
       r"out)\w*\b(?: \S+){0,12} (?:and|then|&) (?:then |afterwards |immediately )?(?:do|"
       r"follow|obey|execute|run|comply|perform|act on|carry out|apply|implement)\w*\b"),
    _w("decode and execute", 0.6,
       r"\b(?:do|follow|obey|execute|run|carry out|comply with|act on) (?:exactly |precisely )?"
       r"(?:what it says|what they say|the result|the decoded|the instructions? (?:inside|in "
       r"it|within)|it exactly|whatever it says|the hidden)\b"),
    _w("decode and execute", 1.0,
       r"\b(?:now |then )?(?:do|execute|run|perform|evaluate|eval|follow)\b [a-z]\d? ?(?:\+|plus)"
       r" ?(?:' ' ?\+ ?)?[a-z]\b"),
    _r("decode and execute", 1.0,
       r"\b(?:do|execute|run|perform|evaluate|follow)\s+[a-z]\d?\s*\+\s*(?:'\s*'\s*\+\s*)?[a-z]\b"),
    _w("decode and execute", 0.5,
       r"\b(?:combine|concatenate|join|merge) (?:steps?|the (?:two|three|parts|pieces|strings|"
       r"variables|words)|(?:both|all) (?:parts|pieces|strings)|\S+ and \S+)\b"),
    _w("decode and execute", 0.5,
       r"\b(?:by doing it|demonstrate it by|actually (?:following|doing) (?:it|one)|show me by "
       r"doing|do it now|just do it)\b"),
    _w("decode and execute", 0.5,
       r"\b(?:continue this text|complete (?:the|this) sentence|repeat after me|start your "
       r"(?:reply|answer|response) with|begin your (?:reply|answer|response) with|finish "
       r"(?:the|this) sentence)\b"),
    # 8. Instructions aimed at an AI inside pasted or retrieved content.
    _w("instructions aimed at the AI", 1.0,
       rf"\b(?:note|notes|message|instructions?|attention|notice|reminder|directive|memo|"
       rf"warning|p s|ps) (?:intended |meant |addressed )?(?:to|for) (?:any |all |the |"
       rf"every |an |a )?(?:\S+ )?{AI}\b"),
    _w("instructions aimed at the AI", 1.0,
       rf"\b{AI}(?: \S+){{0,4}} (?:reading|processing|summari[sz]ing|screening|parsing|indexing|"
       rf"viewing|seeing|crawling|translating|analy[sz]ing|that reads?|who reads?|which reads?|"
       rf"that process(?:es)?|who process(?:es)?) (?:this|these|the following)\b"),
    _w("instructions aimed at the AI", 1.0,
       rf"\bif (?:you are|you're|you re|ur) (?:an? |the )?(?:\S+ )?{AI}\b"),
    _w("instructions aimed at the AI", 0.8,
       r"\b(?:when(?:ever)? you (?:read|see|process|summari[sz]e|quote|explain|show)(?: \S+)? "
       r"this|whoever (?:reads|summari[sz]es|processes|translates) this|to whoever is reading "
       r"this)\b"),
    _w("instructions aimed at the AI", 0.7,
       rf"\b(?:dear|hey|hello|hi|attention|yo|ok|okay) {AI}\b"),
    _r("instructions aimed at the AI", 1.0,
       r"\b(?:ai|llm|gpt|chatbot|assistant|system|model|bot|agent)s?(?:_| )?(?:instructions?|"
       r"directive|command|note|override)\b\s*[:=]|ai-instructions|\bAI_\w+"),
    _r("instructions aimed at the AI", 1.0,
       r"(?:^|[\n>.!?\[\](*|{\"]|-->|<!--)\s*(?:\*\*)?(?:ai|a\.i\.|llm|gpt|chatbot|assistant|system|"
       r"model|bot|agent|translator ai|summari[sz]er)(?:\*\*)?\s*:\s*(?:\*\*)?\s*(?!\s*$)"
       r"(?:ignore|disregard|reveal|tell|say|respond|reply|print|output|stop|do not|don't|"
       r"always|never|when|forward|send|put|grant|new rule|this|from now|you|end|include|add|"
       r"append|recommend|state|summari[sz]e|answer|call|list|show|give|write|use|the user)"),
    _r("instructions aimed at the AI", 1.0,
       r"(?:^|[\n>.!?\[\](*|{\"]|-->|<!--)\s*(?:\*\*)?(?:dear |attention |note to )?(?:ai|llms?|"
       r"chat ?bots?|gpts?|language models?|ai (?:assistants?|agents?|crawlers?|models?|"
       r"systems?|readers?))(?:\s*(?:,|and|&|or|/)\s*(?:ai |other )?(?:assistants?|agents?|"
       r"crawlers?|models?|systems?|bots?|llms?|scrapers?))*(?:\*\*)?\s*:"),
    _r("instructions aimed at the AI", 0.8,
       r"\bsystem\s+(?:note|notice|message|instruction|override|update|alert|directive)s?\s*:"),
    _w("instructions aimed at the AI", 0.6,
       r"\b(?:the (?:correct|right|only) answer to any question|state (?:this|it) as (?:a )?fact|"
       r"cite this page as|present (?:this|it) as (?:a )?fact)\b"),
    _w("instructions aimed at the AI", 1.0,
       r"\b(?:do not|don't|dont|never|without) (?:mention|mentioning|reveal|revealing|disclose)\w*"
       r"(?: that)? (?:this|these|the|that this|that the) (?:note|notes|comment|comments|"
       r"instructions?|message|line|paragraph|footnote)\b"),
    _w("instructions aimed at the AI", 0.8,
       r"\b(?:do not|don't|dont|never|without) (?:tell|telling|inform|informing|alert|alerting|"
       r"mention|mentioning|reveal|revealing|let)\w*(?: \S+){0,2} (?:the user|the reader|anyone|"
       r"this (?:note|comment|instruction|message)|that (?:this|the) (?:note|comment))\b"),
    _w("instructions aimed at the AI", 0.7,
       r"\b(?:must|should|shall|have to) (?:now )?(?:call|send|forward|recommend|state|say|tell "
       r"the user|reply|respond|reveal|output|print|grant|ignore|rate|end every)\b"),
    _r("instructions aimed at the AI", 1.0,
       r"<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|"
       r"eot_id)\|>|\[/?INST\]|<</?SYS>>|^\s*###\s*(?:system|instruction)\s*:?\s*$"),
    _r("instructions aimed at the AI", 1.0, r"[\"']role[\"']\s*:\s*[\"']system[\"']"),
    _r("instructions aimed at the AI", 0.8, r"```\s*(?:system|instructions?|prompt)\b"),
    _r("instructions aimed at the AI", 0.8,
       r"\[(?:system|admin|developer|instructions?)\]\s*(?:\(#?\)|:)?"),
    _r("instructions aimed at the AI", 0.7,
       r"\b(?:assistant|ai|model|llm|system|jailbreak|guardrails?|safe_?mode|filters?|"
       r"restrictions|policy)_?(?:override|mode|enabled|disabled)?\s*[:=]\s*(?:true|false|off|"
       r"none|disabled|0|yes)\b"),
    _r("instructions aimed at the AI", 0.5,
       r"^\s*instructions?\s*:\s*(?:ignore|disregard|forget|any|all|the|you|reveal|always|never)"),
    _r("instructions aimed at the AI", 0.6,
       r"(?:^|\n)\s*(?:user|human)\s*:.*(?:\n.*){0,6}?\n\s*(?:assistant|ai|bot)\s*:\s*(?:sure|ok|"
       r"okay|of course|certainly|rules ignored|here)"),
    _r("hidden content", 0.4,
       r"display\s*:\s*none|font-size\s*:\s*0|visibility\s*:\s*hidden|white text on white|"
       r"color\s*:\s*(?:white|#fff\b|#ffffff)|hidden (?:prompt|text|instructions?)"),
    _r("hidden content", 0.4, r"<!--[\s\S]*?-->"),
    # 9. Requests for clearly harmful material (reported as an injection when combined).
    _w("harmful request", 1.0, rf"\b{REQUEST}\b(?: \S+){{0,8}} {HARM}\b"),
    _w("harmful request", 1.0, rf"\b{REQUEST}\b(?: \S+){{0,8}} {HARM_ACTION}"),
    _w("harmful request", 0.6, rf"\b(?:{HARM}|{HARM_ACTION})"),
)

# Letters-only patterns: survive spaces, dots, hyphens and other noise inside words.
SQUASHED_RULES: tuple[Rule, ...] = (
    Rule("override instructions", 1.0, re.compile(
        r"(?:ignore|disregard|forget|bypass|override|ignora|ignoriere|negeer|vergiss)"
        r"(?:all|the|any|every|your|of|my|these|those|prior|toutes|les|alle)*"
        r"(?:previous|prior|above|earlier|preceding|former|past|original|precedentes|vorherigen)"
        r"(?:instructions?|rules|guidelines|directives|prompts?|constraints|anweisungen)")),
    Rule("override instructions", 1.0, re.compile(
        r"(?:ignore|disregard|forget|bypass|override)(?:all|the|any|every|your|of)+"
        r"(?:instructions|rules|guidelines|directives|systemprompt|guardrails|safetyrules)")),
    Rule("system prompt extraction", 1.0, re.compile(
        r"(?:reveal|print|show|output|display|repeat|dump|leak|tellme|giveme|share|disclose)"
        r"(?:me|us)?(?:all|the|your|ur|of)+(?:full|entire|hidden|secret|initial|original|exact|"
        r"internal|real|complete)*(?:systemprompt|systemmessage|instructions|hiddenconfig|"
        r"hiddenrules|configuration|prompttemplate)")),
)

# Other languages (word form, accents stripped).
MULTILINGUAL_RULES: tuple[Rule, ...] = (
    # French
    _w("override instructions (fr)", 1.0,
       r"\b(?:ignore[zs]?|oublie[zs]?|ne tiens pas compte|ne tenez pas compte)\b(?: \S+){0,4} "
       r"(?:instructions|consignes|regles|directives)\b"),
    _w("system prompt extraction (fr)", 1.0,
       r"\b(?:affiche|montre|revele|donne|repete|ecris|dis)[sz]?\b(?: \S+){0,4} (?:prompt|message)"
       r" (?:systeme|system|initial)|\b(?:tes|vos) (?:instructions|consignes) (?:cachees|secretes|"
       r"initiales)\b"),
    # German
    _w("override instructions (de)", 1.0,
       r"\b(?:ignorier\w*|vergiss|vergessen sie|missacht\w*|uberg\w+)\b(?: \S+){0,4} "
       r"(?:anweisungen|instruktionen|regeln|vorgaben|richtlinien|befehle)\b"),
    _w("system prompt extraction (de)", 1.0,
       r"\b(?:zeig\w*|gib|verrat\w*|nenn\w*|ausgeben|gib aus)\b(?: \S+){0,4} (?:system ?prompt|"
       r"systemanweisung\w*|anweisungen|konfiguration)\b"),
    _w("ignore sources (de)", 0.8,
       r"\bohne (?:quellenangaben|quellen|zitate|das handbuch)\b"),
    # Spanish
    _w("override instructions (es)", 1.0,
       r"\b(?:ignora|ignore|olvida|olvide|omite|descarta|desobedece)\b(?: \S+){0,4} "
       r"(?:instrucciones|reglas|indicaciones|directrices|normas)\b"),
    _w("system prompt extraction (es)", 1.0,
       r"\b(?:revela|muestra|dime|ensena|imprime|repite)\b(?: \S+){0,4} (?:prompt|mensaje|"
       r"instrucciones) (?:del sistema|de sistema|ocultas|secretas|iniciales)\b"),
    _w("jailbreak persona (es)", 0.7, r"\bsin (?:restricciones|reglas|filtros|limites)\b"),
    # Italian
    _w("override instructions (it)", 1.0,
       r"\b(?:ignora|ignori|dimentica|dimentichi|trascura)\b(?: \S+){0,4} (?:istruzioni|regole|"
       r"indicazioni|direttive)\b"),
    _w("system prompt extraction (it)", 1.0,
       r"\b(?:rivela|mostra|dimmi|stampa|ripeti)\b(?: \S+){0,4} (?:istruzioni (?:nascoste|"
       r"segrete|iniziali)|prompt di sistema)\b"),
    # Dutch
    _w("override instructions (nl)", 1.0,
       r"\b(?:negeer|vergeet|omzeil)\b(?: \S+){0,4} (?:instructies|regels|aanwijzingen|"
       r"richtlijnen)\b"),
    _w("system prompt extraction (nl)", 1.0,
       r"\b(?:toon|laat|geef|onthul|herhaal)\b(?: \S+){0,4} (?:systeemprompt|systeem prompt|"
       r"instructies)\b"),
    _w("data exfiltration (nl)", 0.9,
       r"\b(?:stuur|verstuur|mail)\b(?: \S+){0,4} (?:chatgeschiedenis|gesprekken|berichten)\b"),
    # Portuguese
    _w("override instructions (pt)", 1.0,
       r"\b(?:ignore|ignora|esqueca|esqueça|desconsidere|desconsidera)\b(?: \S+){0,4} "
       r"(?:instrucoes|regras|diretrizes|orientacoes)\b"),
    _w("system prompt extraction (pt)", 1.0,
       r"\b(?:revele|mostre|diga|imprima|repita)\b(?: \S+){0,4} (?:prompt do sistema|instrucoes "
       r"(?:ocultas|secretas|iniciais))\b"),
    # Russian
    _w("override instructions (ru)", 1.0,
       r"(?:игнорируй|проигнорируй|забудь|игнорируйте|забудьте)(?: \S+){0,4} (?:инструкции|"
       r"правила|указания)"),
    _w("system prompt extraction (ru)", 1.0,
       r"(?:покажи|выведи|раскрой|напиши)(?: \S+){0,4} (?:системный промпт|системные инструкции|"
       r"свои инструкции)"),
    # Chinese / Japanese (no spaces: raw patterns)
    _r("override instructions (zh/ja)", 1.0,
       r"(?:忽略|无视|無視|忘记|忘掉|忘記|不要理会|跳过|忘れ)[^。！？\n]{0,12}(?:指令|指示|规则|規則|"
       r"提示|设定|設定|要求|命令|ルール)"),
    _r("system prompt extraction (zh/ja)", 1.0,
       r"(?:系统提示|系統提示|系统指令|系统消息|系统设定|システムプロンプト|初始指令)"),
)

ALL_WORD_RULES = tuple(r for r in RULES + MULTILINGUAL_RULES if not r.raw)
ALL_RAW_RULES = tuple(r for r in RULES + MULTILINGUAL_RULES if r.raw)

HARMFUL_FAMILY = "harmful request"
