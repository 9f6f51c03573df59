"""Inhibition rules (Alertmanager semantics): a firing alert matching ``source_matchers``
holds back alerts matching ``target_matchers`` that share the values of the ``equal`` labels."""
