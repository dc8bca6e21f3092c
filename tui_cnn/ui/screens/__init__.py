"""Screens over the main screen: the lesson views and help."""
