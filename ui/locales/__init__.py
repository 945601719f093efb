"""The app's text, one catalogue per language (en.py, ja.py); read through ``ui.i18n``."""
