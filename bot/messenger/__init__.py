"""The python-telegram-bot adapter: the bot object and its transport, update processing and the
journal, persistence of conversation states, keyboards and button data, rendering for a
messenger, the messages the bot starts itself (notices) and the broadcast sender. Handlers
(handlers/) are written against it; bot/app.py assembles both into one Application per messenger."""
