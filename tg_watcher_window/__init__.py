"""The window and AFK watcher: which application and window title is active, and whether
the user is at the keyboard, sent to the TimelyGator server through tg_core's durable client."""
