"""The health engine: metrics (SQL, set-based), journeys and scoring (pure Python), no views."""
