"""Telephony providers: one interface (`base.Provider`), one adapter per way of reaching the phone network."""
