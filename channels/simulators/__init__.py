"""Local stand-ins for the providers Guichet talks to (Twilio, Telegram, X): tests, demo."""
