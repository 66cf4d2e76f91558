"""Changes and tasks, as Pebble keeps them (spec §4): `model` holds what a
change and its tasks are, `manager` runs them."""
