"""The pages: accounts, segments, journeys, the role home, and the leaders' views of revenue and risk."""
