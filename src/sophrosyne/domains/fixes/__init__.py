"""The fixes domain: what was done for each kind of alert, and whether it worked."""
