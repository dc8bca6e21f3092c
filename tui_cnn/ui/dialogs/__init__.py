"""Modal dialogs: pickers, forms, prompts and confirmations."""
