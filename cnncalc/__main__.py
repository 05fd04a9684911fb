"""`python -m cnncalc` and the `cnncalc` console script."""

import gc


def main() -> None:
    """Run the command line with the cycle collector off while modules load.

    A one-shot process creates hundreds of thousands of objects while importing click, yaml
    and cnncalc, and none of them are cyclic garbage: collecting meanwhile only costs time.
    `cli.run` freezes what is left at the end, so interpreter shutdown does not scan it again.
    """
    gc.disable()
    from cnncalc.cli import run

    run()


if __name__ == "__main__":
    main()
