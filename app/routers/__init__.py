"""One router per resource: prediction, models, health, and the drawing page."""
