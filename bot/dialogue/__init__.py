"""What the dialogue makes of a message beyond its intent."""
