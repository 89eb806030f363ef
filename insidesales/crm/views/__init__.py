"""The record pages of the web UI: generic list/detail/form views plus the lead, deal, task and saved-view verbs."""
