"""Use cases that touch several domains. Like services, flows never commit."""
