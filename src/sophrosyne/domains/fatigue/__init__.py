"""Alert fatigue: which alert rules fire often, briefly, flap, or are never acted on, scored
0-100 per signature over a window, with concrete recommendations (``score`` is the formula,
``service`` the SQL that gathers its inputs)."""
