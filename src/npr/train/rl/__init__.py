"""The RL trainer: rollouts from the native engine, rewards and filters, advantages, the policy update, the loop."""
