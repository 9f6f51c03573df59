"""The recommendations domain: instructions for people, with their attachments."""
