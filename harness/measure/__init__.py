"""How figures are measured: step-time statistics, scoring, inference scenarios, scaling, speed settings."""
