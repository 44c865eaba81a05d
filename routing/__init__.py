"""Referral routing: provider directory, Mali gazetteer, eligibility rules and ranking (pure Python)."""
