//===- DistributedTest.cpp - launcher variables and the TCP rendezvous ----===//
//
// processGroupFromEnvironment on torchrun's, Open MPI's and PMI's variables
// and their errors; ProcessGroup with its ranks as threads of this process
// on a loopback port: the unique-id broadcast, the cpu collectives across
// ranks against the in-process ones, and a rank that leaves.
// test/e2e/run-multiprocess.sh runs real processes.
//
//===----------------------------------------------------------------------===//

#include "Rendezvous.h"

#include "hymir/Runtime/Distributed.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace hymir {
namespace {

using Env = std::map<std::string, std::string>;

TEST(DistributedEnv, NoLauncherIsOneProcess) {
  auto spec = processGroupFromEnvironment(Env{{"PATH", "/bin"}});
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->has_value());
}

TEST(DistributedEnv, Torchrun) {
  auto spec = processGroupFromEnvironment(Env{{"RANK", "3"},
                                              {"WORLD_SIZE", "8"},
                                              {"LOCAL_RANK", "1"},
                                              {"MASTER_ADDR", "node0"},
                                              {"MASTER_PORT", "29500"},
                                              {"HYMIR_DIST_TIMEOUT", "2.5"}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(spec->has_value());
  EXPECT_EQ((*spec)->rank, 3);
  EXPECT_EQ((*spec)->worldSize, 8);
  EXPECT_EQ((*spec)->localRank, 1);
  EXPECT_EQ((*spec)->masterAddr, "node0");
  EXPECT_EQ((*spec)->masterPort, 29500);
  EXPECT_EQ((*spec)->timeoutSeconds, 2.5);
}

TEST(DistributedEnv, OpenMpiAndPmi) {
  auto ompi =
      processGroupFromEnvironment(Env{{"OMPI_COMM_WORLD_RANK", "1"},
                                      {"OMPI_COMM_WORLD_SIZE", "2"},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                      {"MASTER_PORT", "1234"}});
  ASSERT_TRUE(ompi.ok()) << ompi.status();
  EXPECT_EQ((*ompi)->rank, 1);
  EXPECT_EQ((*ompi)->localRank, 0);
  EXPECT_EQ((*ompi)->masterAddr, "127.0.0.1");
  auto pmi = processGroupFromEnvironment(
      Env{{"PMI_RANK", "2"}, {"PMI_SIZE", "4"}, {"MASTER_PORT", "1234"}});
  ASSERT_TRUE(pmi.ok()) << pmi.status();
  EXPECT_EQ((*pmi)->rank, 2);
  EXPECT_EQ((*pmi)->localRank, 2); // no local rank: the rank
}

TEST(DistributedEnv, ErrorsNameTheVariable) {
  auto error = [](Env env) {
    auto spec = processGroupFromEnvironment(env);
    EXPECT_FALSE(spec.ok());
    return spec.ok() ? std::string() : std::string(spec.status().message());
  };
  EXPECT_NE(error({{"RANK", "0"}}).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}})
                .find("RANK='2'"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "x"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}})
                .find("RANK='x'"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "0"}})
                .find("MASTER_PORT='0'"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "0"},
                   {"WORLD_SIZE", "2"},
                   {"MASTER_PORT", "1"},
                   {"LOCAL_RANK", "-1"}})
                .find("LOCAL_RANK"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "0"},
                   {"WORLD_SIZE", "2"},
                   {"MASTER_PORT", "1"},
                   {"MASTER_ADDR", ""}})
                .find("MASTER_ADDR"),
            std::string::npos);
  EXPECT_NE(error({{"PMI_RANK", "0"}}).find("PMI_SIZE"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"},
                   {"WORLD_SIZE", "1"},
                   {"MASTER_PORT", "1"},
                   {"HYMIR_DIST_TIMEOUT", "0"}})
                .find("HYMIR_DIST_TIMEOUT"),
            std::string::npos);
}

/// A loopback port free a moment ago.
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Runs `body(rank, group)` on `n` threads, each joined as one rank.
template <typename Body> void runRanks(int n, double timeout, Body body) {
  int port = freePort();
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      ProcessGroupSpec spec;
      spec.rank = r;
      spec.worldSize = n;
      spec.masterPort = port;
      spec.timeoutSeconds = timeout;
      auto group = ProcessGroup::join(spec);
      ASSERT_TRUE(group.ok()) << "rank " << r << ": " << group.status();
      body(r, std::shared_ptr<ProcessGroup>(std::move(*group)));
    });
  for (std::thread &t : threads)
    t.join();
}

TEST(ProcessGroup, BroadcastsRankZerosBlob) {
  runRanks(3, 10, [](int r, std::shared_ptr<ProcessGroup> group) {
    // NCCL's unique id is 128 bytes.
    std::vector<uint8_t> blob(r == 0 ? 128 : 0);
    for (size_t i = 0; i < blob.size(); ++i)
      blob[i] = static_cast<uint8_t>(i * 7 + 1);
    ASSERT_TRUE(group->broadcast(blob, "the id").ok());
    ASSERT_EQ(blob.size(), 128u);
    EXPECT_EQ(blob[5], 36);
  });
}

TEST(ProcessGroup, CollectivesMatchOneProcess) {
  const int n = 3;
  const size_t elements = 5;
  auto value = [](int r, size_t i) { return 0.1f * r + 1.0f / (i + 1); };
  // The in-process simulated devices' results.
  std::vector<std::vector<float>> src(n, std::vector<float>(elements));
  std::vector<std::vector<float>> sum(n, std::vector<float>(elements));
  std::vector<const void *> s;
  std::vector<void *> d;
  for (int r = 0; r < n; ++r) {
    for (size_t i = 0; i < elements; ++i)
      src[r][i] = value(r, i);
    s.push_back(src[r].data());
    d.push_back(sum[r].data());
  }
  ASSERT_TRUE(
      createCpuCollectives(n)->allReduceSum(s, d, elements, DType::F32).ok());
  runRanks(n, 10, [&](int r, std::shared_ptr<ProcessGroup> group) {
    auto collectives = createProcessCollectives(group);
    ASSERT_TRUE(collectives.ok());
    std::vector<float> mine(elements), out(elements), all(elements * n);
    for (size_t i = 0; i < elements; ++i)
      mine[i] = value(r, i);
    ASSERT_TRUE(
        (*collectives)
            ->allReduceSum({mine.data()}, {out.data()}, elements, DType::F32)
            .ok());
    EXPECT_EQ(out, sum[0]) << "rank " << r;
    ASSERT_TRUE(
        (*collectives)
            ->allGather({mine.data()}, {all.data()}, elements, DType::F32)
            .ok());
    for (int e = 0; e < n; ++e)
      EXPECT_EQ(all[e * elements + 1], value(e, 1));
    // reduce_scatter of every rank's gathered blocks: rank r keeps block r
    // of the sum, which is all_reduce's sum.
    std::vector<float> block(elements);
    ASSERT_TRUE((*collectives)
                    ->reduceScatterSum({all.data()}, {block.data()}, elements,
                                       DType::F32)
                    .ok());
    std::vector<float> want(elements);
    for (size_t i = 0; i < elements; ++i)
      want[i] = static_cast<float>(n) * value(r, i);
    for (size_t i = 0; i < elements; ++i)
      EXPECT_FLOAT_EQ(block[i], want[i]) << "rank " << r << " element " << i;
  });
}

TEST(ProcessGroup, ARankThatLeavesFailsTheOthersNamingIt) {
  runRanks(3, 10, [](int r, std::shared_ptr<ProcessGroup> group) {
    if (r == 2)
      return; // its connections close with its group
    auto parts = group->gather({1, 2, 3}, "the test's gather", true);
    if (r == 0) {
      ASSERT_FALSE(parts.ok());
      EXPECT_NE(std::string(parts.status().message())
                    .find("rank 2 closed its connection during the test's "
                          "gather"),
                std::string::npos)
          << parts.status();
      return;
    }
    // Rank 1 only sent; the exchange after it brings rank 0's verdict.
    auto got = group->scatter({}, "the test's scatter");
    ASSERT_FALSE(got.ok());
    EXPECT_NE(std::string(got.status().message()).find("rank 2 closed"),
              std::string::npos)
        << got.status();
  });
}

TEST(ProcessGroup, AHungRankTimesOut) {
  runRanks(2, 0.5, [](int r, std::shared_ptr<ProcessGroup> group) {
    if (r == 1) {
      // Joined, then silent until rank 0 has given up.
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return;
    }
    auto parts = group->gather({1}, "the test's gather", true);
    ASSERT_FALSE(parts.ok());
    EXPECT_EQ(parts.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_NE(std::string(parts.status().message())
                  .find("rank 1 did not take part in the test's gather"),
              std::string::npos)
        << parts.status();
  });
}

} // namespace
} // namespace hymir
