"""trialnode: clinical research infrastructure for Swedish healthcare regions."""
