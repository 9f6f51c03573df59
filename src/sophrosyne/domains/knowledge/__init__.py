"""The knowledge domain: runbook articles with owners and review dates."""
