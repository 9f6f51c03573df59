"""The actions domain."""
