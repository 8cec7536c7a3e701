"""Differentially private training of the tabular GAN: DP-SGD on the critic (Opacus) under an RDP accountant.

Only the critic reads real rows, and only through DP-SGD: per-sample gradients (Opacus ``GradSampleModule``),
each clipped to ``max_grad_norm``, summed, and Gaussian noise of ``noise_multiplier * max_grad_norm`` added
(``DPOptimizer``). What makes that an accounted (epsilon, delta) guarantee:

- Real rows are drawn by Poisson sampling (each row independently with probability q = batch_size / n), the
  sampling the RDP accountant assumes, not by training-by-sampling (whose row choice depends on the data). Each
  real row comes with a condition vector made from that row alone (a random discrete column, the row's own slot).
- One row is one gradient sample: the critic has pac = 1 (a pack would mix several people's rows) and no gradient
  penalty (its double backward has no per-sample form). The loss is the non-saturating logistic GAN loss,
  softplus(-D(real)) + softplus(D(fake)) for the critic and softplus(-D(fake)) for the generator, which needs no
  Lipschitz constraint. Generated rows go through the same clipped, noised step (harmless: they are not data).
- The generator never sees real rows: it learns from the critic's scores of its own rows and from the
  cross-entropy between its output and conditions drawn from the noisy (DP) category counts.
- The noise multiplier is Opacus's ``get_noise_multiplier`` for the planned steps at the DP-SGD share of the budget.
  When that would exceed ``MAX_NOISE_MULTIPLIER`` (a budget too small for the planned epochs: the gradients would
  be mostly noise), the multiplier is capped and training stops after the last step the budget allows, so the
  accountant's epsilon never exceeds the target (``stopped_early``).
- Reported losses: the critic's on generated rows only (its loss on real rows is a statistic of the data that the
  accountant does not cover).

Budget: the preprocessing metadata (``private_metadata``) spends ``metadata_share`` of epsilon (and of delta when
category lists are disclosed), DP-SGD the rest; the two compose by basic composition (epsilons add, deltas add),
and both parts are recorded in ``privacy_spent``.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from opacus.optimizers import DPOptimizerFastGradientClipping
from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping
from torch import Tensor
from torch.nn import functional as F

from synth.errors import ParameterError
from synth.schema import Schema
from synth.tabular.layout import OutputLayout
from synth.tabular.networks import PacDiscriminator, TabularGenerator
from synth.tabular.noise import TrainingNoise
from synth.tabular.private_metadata import private_codecs
from synth.tabular.sampler import ConditionalSampler
from synth.tabular.training import Checkpointing, EpochStats, ProgressCallback, TrainingPlan, TrainingState
from synth.tabular.transformer import TableTransformer

__all__ = ["MAX_NOISE_MULTIPLIER", "PrivacySettings", "PrivateFit", "epsilon_after", "fit_private", "noise_schedule"]

log = logging.getLogger(__name__)

#: Above this noise multiplier the clipped signal drowns; a budget that needs more stops training early instead.
MAX_NOISE_MULTIPLIER = 10.0
#: RDP orders: Opacus's defaults plus larger ones, so that small epsilons are reachable and bounds stay tight.
_ALPHAS: list[float] = [*RDPAccountant.DEFAULT_ALPHAS, 80, 100, 128, 160, 200, 256, 384, 512, 768, 1024, 2048, 4096]


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """The privacy parameters of a fit (see TabularSynthesizer)."""

    epsilon: float
    delta: float
    max_grad_norm: float
    metadata_share: float
    public_metadata: Mapping[str, Mapping[str, Any]] | None
    rare_category_min: int


@dataclass(frozen=True, slots=True)
class PrivateFit:
    """What a private fit learned, and the budget it spent (``privacy_spent``)."""

    transformer: TableTransformer
    generator: TabularGenerator
    history: list[EpochStats]
    condition_counts: list[int]
    privacy_spent: dict[str, Any]


def fit_private(
    frame: pd.DataFrame,
    schema: Schema,
    settings: PrivacySettings,
    plan: TrainingPlan,
    *,
    max_categories: int,
    locale: str,
    rng: np.random.Generator,
    generator: torch.Generator,
    progress: ProgressCallback | None = None,
    checkpointing: Checkpointing | None = None,
) -> PrivateFit:
    """Preprocess from public or noisy metadata, then train with DP-SGD on what is left of the budget."""
    codecs, slot_counts, meta = private_codecs(
        frame,
        schema,
        public=settings.public_metadata,
        epsilon=settings.metadata_share * settings.epsilon,
        delta=settings.metadata_share * settings.delta,
        rare_min=settings.rare_category_min,
        max_categories=max_categories,
        locale=locale,
        reserve=min(settings.metadata_share, 1 - settings.metadata_share) * settings.epsilon / 2,
        rng=rng,
    )
    transformer = TableTransformer.from_codecs(
        schema,
        codecs,
        max_categories=max_categories,
        rare_category_min=settings.rare_category_min,
        fake_locale=locale,
    )
    counts = [c for name, _, _ in transformer.discrete_columns() for c in slot_counts[name]]
    trainer = _PrivateTrainer(*_training_inputs(transformer, frame, counts, rng, generator.device), plan, generator)
    margin = 1e-9 * settings.epsilon  # so that metadata + DP-SGD stays <= the target after rounding
    sgd_epsilon, sgd_delta = settings.epsilon - meta.epsilon - margin, settings.delta - meta.delta
    g_net, history, sgd = trainer.run(sgd_epsilon, sgd_delta, settings.max_grad_norm, progress, checkpointing)
    spent = {
        "epsilon_target": float(settings.epsilon),
        "epsilon_spent": meta.epsilon + sgd["epsilon"],
        "epsilon_sgd": sgd["epsilon"],
        "epsilon_metadata": meta.epsilon,
        "delta": float(settings.delta),
        "delta_sgd": sgd_delta,
        "delta_metadata": meta.delta,
        "bounds": meta.bounds,
        "noise_multiplier": sgd["noise_multiplier"],
        "steps": sgd["steps"],
        "planned_steps": sgd["planned_steps"],
        "sample_rate": sgd["sample_rate"],
        "stopped_early": sgd["steps"] < sgd["planned_steps"],
    }
    log.info(
        "privacy: epsilon %.4g spent of %.4g (metadata %.4g + DP-SGD %.4g, basic composition), delta %.3g; "
        "noise multiplier %.4g, %d of %d steps at sample rate %.4g%s",
        spent["epsilon_spent"],
        spent["epsilon_target"],
        spent["epsilon_metadata"],
        spent["epsilon_sgd"],
        spent["delta"],
        spent["noise_multiplier"],
        spent["steps"],
        spent["planned_steps"],
        spent["sample_rate"],
        " (stopped early: budget reached)" if spent["stopped_early"] else "",
    )
    return PrivateFit(transformer, g_net, history, counts, spent)


def _training_inputs(
    transformer: TableTransformer,
    frame: pd.DataFrame,
    counts: list[int],
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[Tensor, OutputLayout, Tensor, ConditionalSampler]:
    """The encoded rows, the output layout, each row's global slot per discrete column, and a sampler of conditions
    built from the noisy slot counts."""
    data = torch.as_tensor(transformer.transform(frame, rng, fill=False), device=device)
    discrete = transformer.discrete_columns()
    widths = [codec.width for _, _, codec in discrete]
    sampler = ConditionalSampler(np.asarray(counts, dtype=np.int64), widths, device)
    offsets = np.cumsum([0, *widths])[:-1]
    local = [codec.codes(frame[name]) for name, _, codec in discrete]
    slots = np.stack(local, axis=1) + offsets if local else np.zeros((len(frame), 0), dtype=np.int64)
    layout = OutputLayout.of(transformer, device)
    return data, layout, torch.as_tensor(slots, device=device).long(), sampler


@contextmanager
def _quiet_accountant() -> Iterator[None]:
    """Opacus warns when the best RDP order is the largest one tried: the bound is valid, only not the tightest."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha", category=UserWarning)
        yield


def epsilon_after(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """The RDP accountant's epsilon after ``steps`` DP-SGD steps (0 for none)."""
    if steps == 0:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    with _quiet_accountant():
        return float(accountant.get_epsilon(delta, alphas=_ALPHAS))


def noise_schedule(epsilon: float, delta: float, sample_rate: float, planned_steps: int) -> tuple[float, int]:
    """(noise multiplier, steps the budget allows): all planned steps when the multiplier they need is at most
    MAX_NOISE_MULTIPLIER, else the capped multiplier and the most steps it keeps within (epsilon, delta)."""
    try:
        with _quiet_accountant():
            sigma = get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=sample_rate,
                steps=planned_steps,
                accountant="rdp",
                alphas=_ALPHAS,
            )
    except ValueError:  # Opacus: "The privacy budget is too low."
        sigma = math.inf
    if sigma <= MAX_NOISE_MULTIPLIER:
        return float(sigma), planned_steps
    low, high = 0, planned_steps  # epsilon_after is increasing in steps: the largest count within the budget
    while low < high:
        middle = (low + high + 1) // 2
        if epsilon_after(MAX_NOISE_MULTIPLIER, sample_rate, middle, delta) <= epsilon:
            low = middle
        else:
            high = middle - 1
    return MAX_NOISE_MULTIPLIER, low


class _PrivateTrainer:
    """The networks, optimisers and losses of one private run; ``run`` trains and reports what it spent."""

    def __init__(
        self,
        data: Tensor,
        layout: OutputLayout,
        row_slots: Tensor,
        sampler: ConditionalSampler,
        plan: TrainingPlan,
        generator: torch.Generator,
    ) -> None:
        self.data, self.layout, self.row_slots = data, layout, row_slots
        self.sampler, self.plan, self.generator = sampler, plan, generator
        self.device = data.device
        self.sample_rate = min(1.0, plan.batch_size / len(data))
        self.steps_per_epoch = max(1, len(data) // plan.batch_size)
        self.g_net = TabularGenerator(
            plan.noise_dim, sampler.width, plan.generator_dims, data.shape[1], self.device, generator,
            sequential=plan.sequential_heads,
        )  # fmt: skip
        self.critic = PacDiscriminator(
            data.shape[1] + sampler.width, plan.discriminator_dims, 1, self.device, generator
        )
        self.g_opt = torch.optim.Adam(
            self.g_net.parameters(), lr=plan.learning_rate, betas=(0.5, 0.9), weight_decay=1e-6
        )
        self.noise = TrainingNoise(plan.batch_size, plan.noise_dim, layout.gumbel_width, generator, self.device)

    def run(
        self,
        epsilon: float,
        delta: float,
        max_grad_norm: float,
        progress: ProgressCallback | None,
        checkpointing: Checkpointing | None,
    ) -> tuple[TabularGenerator, list[EpochStats], dict[str, Any]]:
        """Train for the planned steps or as many as (epsilon, delta) allows; report the accountant's figures."""
        plan = self.plan
        planned = plan.epochs * self.steps_per_epoch * plan.discriminator_steps
        sigma, allowed = self._schedule(epsilon, delta, planned)
        accountant = self._private_critic(sigma, max_grad_norm)
        history = self._resume(checkpointing, accountant, sigma)
        done = len(history) * self.steps_per_epoch * plan.discriminator_steps
        for epoch in range(len(history) + 1, plan.epochs + 1):
            if done == allowed:
                break
            started = time.perf_counter()
            (d_mean, g_mean, c_mean), done = self._epoch(done, allowed)
            stats = EpochStats(epoch, plan.epochs, d_mean, g_mean, c_mean, time.perf_counter() - started)
            history.append(stats)
            log.debug("private epoch %d/%d: D(fake) %.4f G %.4f cond %.4f", epoch, plan.epochs, d_mean, g_mean, c_mean)
            # no checkpoint once the budget is spent: that epoch may be partial, and a resume counts whole epochs
            if (
                checkpointing is not None
                and epoch % checkpointing.every == 0
                and epoch < plan.epochs
                and done < allowed
            ):
                checkpointing.save(self._state(epoch, history))
            if progress is not None:
                progress(stats)
        self.g_net.eval()
        assert accountant.history == [(sigma, self.sample_rate, done)]  # one accountant step per critic step
        with _quiet_accountant():
            spent = float(accountant.get_epsilon(delta, alphas=_ALPHAS))
        report = {"epsilon": spent, "noise_multiplier": sigma, "steps": done, "planned_steps": planned}
        return self.g_net, history, {**report, "sample_rate": self.sample_rate}

    def _schedule(self, epsilon: float, delta: float, planned: int) -> tuple[float, int]:
        """The noise multiplier and the steps allowed (ParameterError when not even one is)."""
        sigma, allowed = noise_schedule(epsilon, delta, self.sample_rate, planned)
        if allowed == 0:
            raise ParameterError(
                f"epsilon leaves {epsilon:.4g} for DP-SGD, too little for even one step at noise multiplier "
                f"{MAX_NOISE_MULTIPLIER}: raise epsilon, lower metadata_share, or train on more rows"
            )
        if allowed < planned:
            log.warning(
                "the DP-SGD budget (epsilon %.4g) allows %d of the %d planned steps at noise multiplier %.1f: "
                "training stops early",
                epsilon,
                allowed,
                planned,
                sigma,
            )
        return sigma, allowed

    def _private_critic(self, sigma: float, max_grad_norm: float) -> RDPAccountant:
        """Wrap the critic for ghost clipping (per-row gradient norms without per-row gradients) and its optimiser
        for noise; return the accountant its steps are recorded in."""
        self.d_module = GradSampleModuleFastGradientClipping(
            self.critic, loss_reduction="sum", max_grad_norm=max_grad_norm, use_ghost_clipping=True
        )
        inner = torch.optim.Adam(self.d_module.parameters(), lr=self.plan.learning_rate, betas=(0.5, 0.9))
        self.d_opt = DPOptimizerFastGradientClipping(
            inner,
            noise_multiplier=sigma,
            max_grad_norm=max_grad_norm,
            expected_batch_size=2 * self.plan.batch_size,  # real rows expected per step, plus as many generated
            loss_reduction="mean",
            generator=self.generator,
            secure_mode=False,
        )
        accountant = RDPAccountant()
        self.d_opt.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=self.sample_rate))
        return accountant

    def _epoch(self, done: int, allowed: int) -> tuple[tuple[float, float, float], int]:
        """One epoch's mean losses (critic on generated rows, generator, condition) and the DP steps done after it."""
        totals, steps = torch.zeros(3, device=self.device), 0
        self.noise.plan(self.steps_per_epoch * (self.plan.discriminator_steps + 1), self.generator)
        for _ in range(self.steps_per_epoch):
            if done == allowed:
                break
            for _ in range(min(self.plan.discriminator_steps, allowed - done)):
                d_loss = self._critic_step()
                done += 1
            g_loss, c_loss = self._generator_step()
            totals += torch.stack([d_loss, g_loss, c_loss])
            steps += 1
        d_mean, g_mean, c_mean = (totals / steps).tolist()
        return (d_mean, g_mean, c_mean), done

    def _state(self, epoch: int, history: list[EpochStats]) -> TrainingState:
        return TrainingState(
            epoch,
            self.g_net.state_dict(),
            self.critic.state_dict(),
            self.g_opt.state_dict(),
            self.d_opt.original_optimizer.state_dict(),
            self.generator.get_state(),
            tuple(history),
        )

    def _resume(self, checkpointing: Checkpointing | None, accountant: RDPAccountant, sigma: float) -> list[EpochStats]:
        """Restore a checkpoint (saved after whole epochs) and the accountant's steps up to it."""
        resume = checkpointing.resume_from if checkpointing is not None else None
        if resume is None:
            return []
        self.g_net.load_state_dict(resume.generator)
        self.critic.load_state_dict(resume.discriminator)
        self.g_opt.load_state_dict(resume.generator_optimizer)
        self.d_opt.original_optimizer.load_state_dict(resume.discriminator_optimizer)
        self.generator.set_state(resume.rng_state)
        steps = resume.epoch * self.steps_per_epoch * self.plan.discriminator_steps
        accountant.history = [(sigma, self.sample_rate, steps)]
        return list(resume.history)

    def _row_conditions(self, rows: Tensor) -> Tensor:
        """Each real row's condition vector from the row itself: a random discrete column, the row's slot in it."""
        if self.sampler.n_columns == 0:
            return torch.zeros(len(rows), 0, device=self.device)
        column = torch.randint(self.sampler.n_columns, (len(rows),), generator=self.generator, device=self.device)
        return self.sampler.one_hot(self.row_slots[rows, column])

    def _drawn_conditions(self) -> tuple[Tensor, Tensor | None]:
        """Condition vectors for generated rows, drawn from the noisy slot counts (no real row is read)."""
        if self.sampler.n_columns == 0:
            return torch.zeros(self.plan.batch_size, 0, device=self.device), None
        slot = self.sampler.sample_generation(self.plan.batch_size, self.generator)
        return self.sampler.one_hot(slot), slot

    def _fake(self, cond: Tensor) -> tuple[Tensor, Tensor]:
        noise, gumbel = self.noise.next()
        raw, fake = self.g_net.rows(torch.cat([noise, cond], dim=1), gumbel, self.layout)
        return raw, torch.cat([fake, cond], dim=1)

    def _critic_step(self) -> Tensor:
        """One DP-SGD step of the critic on a Poisson sample of real rows and a batch of generated ones."""
        take = torch.rand(len(self.data), generator=self.generator, device=self.device) < self.sample_rate
        rows = take.nonzero().squeeze(1)
        real = torch.cat([self.data[rows], self._row_conditions(rows)], dim=1)
        cond, _ = self._drawn_conditions()
        with torch.no_grad():
            _, fake = self._fake(cond)
        rows_in = torch.cat([real, fake]).requires_grad_(True)  # else torch warns that Opacus's hooks see no input
        scores = self.d_module(rows_in).squeeze(1)
        per_row = torch.cat([F.softplus(-scores[: len(rows)]), F.softplus(scores[len(rows) :])])
        self.d_opt.zero_grad(set_to_none=True)
        # Ghost clipping: one backward for the per-row gradient norms, a second for the sum of clipped gradients.
        DPTensorFastGradientClipping(self.d_module, self.d_opt, per_row, "sum").backward()
        self.d_opt.step()
        return per_row[len(rows) :].detach().mean()

    def _generator_step(self) -> tuple[Tensor, Tensor]:
        """One generator step: the critic's verdict on its rows, plus following the drawn condition."""
        cond, slot = self._drawn_conditions()
        raw, fake = self._fake(cond)
        self.d_module.disable_hooks()  # Opacus's hooks (per-sample gradients) stay off through this backward
        try:
            adversarial = F.softplus(-self.d_module(fake)).mean()
            cond_loss = self.layout.condition_loss(raw, slot, self.sampler)
            self.g_opt.zero_grad(set_to_none=True)
            (adversarial + cond_loss).backward(inputs=list(self.g_net.parameters()))
        finally:
            self.d_module.enable_hooks()
        self.g_opt.step()
        return adversarial.detach(), cond_loss.detach()
