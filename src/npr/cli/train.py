"""``npr train sft|rl|zero``: a YAML config, ``--set`` overrides, one trainer call, its summary."""

from __future__ import annotations

import argparse
import json
import sys

from npr.cli.common import EXIT_OK, add_ray_arguments, fail


def _train(args: argparse.Namespace) -> int:
    from npr.train.run_summary import render_summary

    command = f"npr train {args.train_command}"
    overrides = list(args.set or [])
    if args.model:
        overrides += [f"model.path={args.model}", "model.init=null", "model.tokenizer=null"]
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.max_steps is not None:
        overrides.append(f"max_steps={args.max_steps}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if getattr(args, "algo", None):
        overrides.append(f"algorithm.name={args.algo}")
    try:
        from npr.train.config import ZERO_DEFAULTS, RLConfig, SFTConfig, load_config

        if args.train_command == "sft":
            from npr.train.sft import train_sft as run

            config = load_config(SFTConfig, args.config, overrides)
        else:
            from npr.train.rl.trainer import train_rl as run

            defaults = ZERO_DEFAULTS if args.train_command == "zero" else None
            config = load_config(RLConfig, args.config, overrides, defaults=defaults)
        log = (lambda m: print(m, file=sys.stderr)) if args.json else print
        extra = {}
        if getattr(args, "ray", None):
            from npr.eval.actors import ActorEngines

            def engines(policy, tokenizer, engine_config):
                return ActorEngines((policy, tokenizer), actors=args.actors,
                                    address=None if args.ray == "local" else args.ray,
                                    kv_budget=engine_config.kv_budget, gpus_per_actor=args.gpus_per_actor,
                                    engine={"max_batch_tokens": engine_config.max_batch_tokens,
                                            "max_running": engine_config.max_running})  # fmt: skip

            extra["rollout_engines"] = engines
        summary = run(config, args.out, resume=args.resume, command=command, progress=not args.json, log=log, **extra)
    except KeyboardInterrupt:
        print(f"{command}: interrupted; the last checkpoint in {args.out}/checkpoints is kept - run the same command "
              "with --resume to continue", file=sys.stderr)  # fmt: skip
        return 130
    except (OSError, ValueError) as exc:
        return fail(f"train {args.train_command}", exc)
    if "rank" in summary:  # a non-main process under a launcher: the main one reports
        return EXIT_OK
    print(json.dumps(summary, indent=2) if args.json else render_summary(args.train_command, summary, args.out))
    return EXIT_OK


def add_train(commands) -> None:
    """The ``train`` command and its stages."""
    train = commands.add_parser(
        "train", help="train NPR models: parallel SFT, RL (PAPO, DAPO, GRPO), Stage-1 NPR-Zero",
        description="Train with npr's parallel topology. Each subcommand reads a YAML config; see docs/TRAINING.md.",
    )  # fmt: skip
    sub = train.add_subparsers(dest="train_command", metavar="STAGE", required=True)
    about = {
        "sft": ("parallel SFT on a corpus of trajectories (transformers.Trainer)",
                "Supervised fine-tuning with the parallel attention mask and positions of npr.topology: every "
                "response token is scored from the hidden state that predicts it, several trajectories packed per "
                "row. The corpus is JSONL token ids (prompt_ids/response_ids, the distillation format) or text "
                "(prompt/response). Runs under accelerate launch and torchrun as they are."),
        "rl": ("RL with rollouts from the native engine: --algo papo (default), dapo or grpo",
               "Reinforcement learning on the policy's own weights: B prompts x G rollouts from the npr engine, "
               "rewards, filters, advantages, the policy update, and a flush of the engine's prefix cache after "
               "every optimizer step. PAPO is strictly on-policy; metrics.jsonl logs logprob_mismatch (engine vs "
               "trainer) every step."),
        "zero": ("Stage 1 (NPR-Zero): DAPO with the format-aware reward and sequential rollouts",
                 "The rl command with the NPR-Zero preset under the config: algorithm dapo, reward.format_aware "
                 "true, rollout.mode sequential. Anything the config sets wins over the preset."),
    }  # fmt: skip
    for name, (short, long) in about.items():
        p = sub.add_parser(name, help=short, description=long,
                           epilog="Outputs in --out: config.yaml, metrics.jsonl, checkpoints/, model/ (HF format), "
                                  "summary.json, tensorboard/ (with report_to: [tensorboard]).")  # fmt: skip
        p.add_argument("--config", required=True, metavar="FILE", help="YAML config (see configs/examples/)")
        p.add_argument("--out", required=True, metavar="DIR", help="output folder (checkpoints, metrics, model)")
        p.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its last checkpoint (refuses changed settings)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a config value, e.g. --set lr=1e-5 --set rollout.group_size=4 (repeatable)")
        p.add_argument("--model", metavar="M", help="a saved model or hub id, with its own tokenizer (sets model.path=M, model.init and "
                            "model.tokenizer to null)")
        p.add_argument("--data", metavar="FILE", help="shortcut for --set data.path=FILE")
        p.add_argument("--max-steps", type=int, metavar="N", help="shortcut for --set max_steps=N")
        p.add_argument("--seed", type=int, metavar="S", help="shortcut for --set seed=S")
        if name == "rl":
            p.add_argument("--algo", choices=("papo", "dapo", "grpo"), help="shortcut for --set algorithm.name=...")
        p.add_argument("--json", action="store_true", help="print the summary as JSON (progress goes to stderr)")
        if name != "sft":
            add_ray_arguments(p)
        p.set_defaults(run=_train)
