"""Offline training and evaluation: writes models and their cards into model_store/."""
