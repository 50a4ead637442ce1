"""The console's pages, one router per screen family."""
