"""One module per screen. Screens call the store only through ``StoreScreen.load``."""
